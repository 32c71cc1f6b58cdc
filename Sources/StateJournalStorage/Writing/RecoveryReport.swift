/// What opening a journal found and did.
public struct RecoveryReport: Sendable {
    /// The journal did not exist (or was clean-stopped) and was created.
    public var created = false
    /// A clean-stop marker was found: the previous run stopped normally, so the journal was discarded.
    public var discardedCleanStop = false
    /// The journal's file was empty, or started with zero bytes where the magic number goes:
    /// its creation had not reached the disk when the machine lost power. Only a `.written` or `.buffered` journal is
    /// created without syncing, so only such a journal is opened this way; the file was set
    /// aside (``savedTo``) and the journal created anew. A `.synced` journal in that state
    /// fails to open instead (its creation was synced: the zeros are damage).
    public var lostCreation = false
    /// The snapshot's sequence number, when there is a snapshot.
    public var snapshotSequence: UInt64?
    /// Messages in the journal after the snapshot (what a replay yields besides the snapshot).
    public var messagesToReplay: UInt64 = 0
    /// The first sequence number a replay yields, when it yields messages.
    public var firstSequence: UInt64?
    /// The last sequence number a replay yields, when it yields messages.
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
