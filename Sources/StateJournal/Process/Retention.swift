/// What becomes of a process's journal when it stops normally.
public enum Retention: Sendable, Hashable {
    /// Discarded on a normal stop, kept across crashes (the default): the
    /// state is transient, like a channel's assigns.
    case transient
    /// Kept across normal stops too: the next start replays it.
    case persistent
}
