/// How a journal is written.
public struct JournalOptions: Sendable {
    /// When appends are acknowledged. Default `.written`.
    public var durability: Durability = .written
    /// Compress batches with LZ4, linked across batches. Default true.
    public var compression = true
    /// How hard batches are compressed when ``compression`` is on: every level writes the same
    /// LZ4 blocks (readers do not care which); a higher one spends the writer's CPU for fewer
    /// bytes on disk. Default ``CompressionLevel/fast``.
    public var compressionLevel: CompressionLevel = .fast
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

    /// Options with these settings; the rest at their defaults.
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
