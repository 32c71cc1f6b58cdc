/// What a supervisor did, in order (for logs, dashboards and tests).
public enum SupervisorEvent: Sendable {
    case started(id: String, replayed: ReplayReport?)
    case crashed(id: String, error: ProcessError)
    case restarting(id: String, attempt: Int, delay: Duration)
    case restarted(id: String)
    case stopped(id: String)
    case unclaimedJournal(path: String)
    case escalated(SupervisorError)
    /// A child exceeded its restart intensity under one-for-one (or is dynamic): it alone was
    /// given up (its senders get ``ProcessError/Code/notRestarted``; its journal is kept).
    case gaveUp(SupervisorError)
}
