/// When an append is acknowledged.
public enum Durability: Sendable, Hashable, CustomStringConvertible {
    /// Acknowledged at once; written within the given bound. A kill may lose at
    /// most that window, never with a gap, duplicate or reorder.
    case buffered(within: Duration)
    /// Acknowledged after `write` returned: survives `kill -9` of the OS process.
    case written
    /// Acknowledged after the data reached stable storage (`fdatasync` or a
    /// shared `syncfs` round): survives power loss.
    case synced

    public var description: String {
        switch self {
        case .buffered(let within): "buffered(within: \(within))"
        case .written: "written"
        case .synced: "synced"
        }
    }
}

/// What opening a journal does with damage.
public enum RecoveryMode: Sendable, Hashable {
    /// Cut a torn tail (kept aside); stop with an error on damage followed by valid frames.
    case strict
    /// Keep the good prefix before any damage; move the rest aside.
    case pointInTime
}

/// How a journal is written.
public struct JournalOptions: Sendable {
    /// When appends are acknowledged. Default `.written`.
    public var durability: Durability = .written
    /// Compress batches with LZ4, linked across batches. Default true.
    public var compression = true
    /// How `.synced` journals reach stable storage. Default `.automatic`.
    public var syncMethod: SyncMethod = .automatic
    /// After this long without work the writer closes its file descriptor and
    /// frees its compression state; the next append reopens the file (and
    /// starts a new chain). Nil keeps the file open. Default 10 s.
    public var idleTimeout: Duration? = .seconds(10)
    /// What opening does with damage. Default `.strict`.
    public var recovery: RecoveryMode = .strict
    /// Create the journal's directory (and parents) when missing. Default true.
    public var createDirectory = true
    /// Write a wall-clock time mark before a batch when this long has passed
    /// since the last one (for `statejournal stats`); nil writes none. Default 1 s.
    public var timeMarkInterval: Duration? = .seconds(1)
    /// Every message is one value in the compact encoding (``CompactEncoder``): recorded in
    /// the header of the files this writer creates, so `statejournal verify` checks that every
    /// message parses. The runtime sets it for processes that use its default codec. Default false.
    public var compactMessages = false

    public init(
        durability: Durability = .written, compression: Bool = true, syncMethod: SyncMethod = .automatic,
        idleTimeout: Duration? = .seconds(10), recovery: RecoveryMode = .strict, createDirectory: Bool = true
    ) {
        self.durability = durability
        self.compression = compression
        self.syncMethod = syncMethod
        self.idleTimeout = idleTimeout
        self.recovery = recovery
        self.createDirectory = createDirectory
    }
}

/// What opening a journal found and did.
public struct RecoveryReport: Sendable {
    /// The journal did not exist (or was clean-stopped) and was created.
    public var created = false
    /// A clean-stop marker was found: the previous run stopped normally, so the journal was discarded.
    public var discardedCleanStop = false
    /// The snapshot's sequence number, when there is a snapshot.
    public var snapshotSequence: UInt64?
    /// Messages in the journal after the snapshot (what a replay yields besides the snapshot).
    public var messagesToReplay: UInt64 = 0
    /// The first and last sequence numbers a replay yields, when it yields messages.
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    /// The sequence number the next append gets.
    public var nextSequence: UInt64 = 1
    /// A torn tail that was cut.
    public var tornTail: TornTail?
    /// Damage in the middle cut by point-in-time recovery.
    public var pointInTimeCut: JournalError?
    /// Where cut bytes were saved.
    public var savedTo: String?
    /// Bytes of the journal after recovery.
    public var size: Int64 = 0
}

/// Where a writer is in a snapshot, for tests that simulate a crash at each step.
package enum SnapshotStep: Sendable, CaseIterable {
    case snapshotTemporaryWritten
    case snapshotRenamed
    case compactedTemporaryWritten
    case compactedRenamed
}

/// Where a writer is in a discarding close, for crash tests.
package enum CloseStep: Sendable, CaseIterable {
    case markerWritten
    case markerSynced
    case snapshotRemoved
    case journalRemoved
}
