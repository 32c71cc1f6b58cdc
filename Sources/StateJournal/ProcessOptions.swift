/// What becomes of a process's journal when it stops normally.
public enum Retention: Sendable, Hashable {
    /// Discarded on a normal stop, kept across crashes (the default): the
    /// state is transient, like a channel's assigns.
    case transient
    /// Kept across normal stops too: the next start replays it.
    case persistent
}

/// When a snapshot of the state is taken, so replay time stays bounded.
public struct SnapshotPolicy: Sendable, Hashable {
    /// After this many messages since the last snapshot.
    public var everyMessages: Int?
    /// After this many bytes of encoded messages since the last snapshot.
    public var everyBytes: Int?

    public init(everyMessages: Int? = nil, everyBytes: Int? = nil) {
        self.everyMessages = everyMessages
        self.everyBytes = everyBytes
    }

    /// No automatic snapshot (``ProcessHandle/snapshot()`` still takes one on demand).
    public static let never = SnapshotPolicy()
    public static func every(messages: Int) -> SnapshotPolicy { SnapshotPolicy(everyMessages: messages) }
    public static func every(bytes: Int) -> SnapshotPolicy { SnapshotPolicy(everyBytes: bytes) }
}

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

/// How a process is journaled.
public struct ProcessOptions: Sendable {
    /// When a `send` returns. Default `.written` (survives `kill -9`).
    public var durability: Durability = .written
    /// Transient (default) or persistent.
    public var retention: Retention = .transient
    /// Automatic snapshots; needs a state codec.
    public var snapshots: SnapshotPolicy = .never
    /// Record a digest of the encoded state every this many messages, and
    /// check it on replay. Nil (default) records none. Needs a state codec.
    public var determinismCheckInterval: Int?
    /// What a replay that throws does. Default `.fail`.
    public var replayFailure: ReplayFailurePolicy = .fail
    /// The journal's own options (compression, sync method, idle release).
    public var journal = JournalOptions()
    /// How long `send`, `read` and `snapshot` wait for the process to run (while it restarts)
    /// before they throw ``ProcessError/Code/timedOut``; nil waits as long as it takes (they
    /// still honour task cancellation). A per-call timeout overrides it. Default nil.
    public var timeout: Duration?

    public init(
        durability: Durability = .written, retention: Retention = .transient, snapshots: SnapshotPolicy = .never,
        determinismCheckInterval: Int? = nil, replayFailure: ReplayFailurePolicy = .fail,
        journal: JournalOptions = JournalOptions()
    ) {
        self.durability = durability
        self.retention = retention
        self.snapshots = snapshots
        self.determinismCheckInterval = determinismCheckInterval
        self.replayFailure = replayFailure
        self.journal = journal
    }
}
