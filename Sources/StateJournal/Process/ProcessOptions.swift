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

    /// Options with the given durability and retention; the rest at their defaults.
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
