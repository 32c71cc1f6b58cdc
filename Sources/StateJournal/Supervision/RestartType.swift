/// When a supervisor restarts a child (as in Erlang/OTP).
public enum RestartType: Sendable, Hashable {
    /// Always restarted: after a crash, and after it stopped by itself (with a fresh state for a transient journal).
    case permanent
    /// Restarted only after a crash; a normal stop ends it (and discards a transient journal).
    case transient
    /// Never restarted; after a crash its journal stays on disk for the next start.
    case temporary
}
