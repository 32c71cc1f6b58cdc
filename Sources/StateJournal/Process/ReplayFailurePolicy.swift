/// What a restart does when replaying a message throws (the code changed
/// since the message was written, or the message does not decode).
public enum ReplayFailurePolicy: Sendable, Hashable {
    /// The restart fails with an error naming the journal and the sequence number.
    case fail
    /// The messages from the failing one on are moved to a quarantine file
    /// beside the journal (reported, never dropped) and the process starts
    /// with the state before them.
    case quarantine
}
