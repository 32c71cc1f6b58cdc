/// A journal opened by its one owner: appends in order, acknowledged per its durability.
///
/// ``JournalWriter`` is the file store's. Every method may be called from any thread or task;
/// blocking work runs on threads the store owns, never on Swift's cooperative pool.
public protocol OwnedJournal: AnyObject, Sendable {
    /// Where the journal is kept (for the file store, its path).
    var location: String { get }
    /// The sequence number the next submitted message will get.
    var nextSequence: UInt64 { get }
    /// The largest message, in bytes, ``submit(contentsOf:)`` takes: a larger one fails its
    /// whole submit with ``JournalError/Code/messageTooLarge``.
    var largestMessage: Int { get }
    /// Queues `messages` in one step (their sequence numbers follow in order, with no other
    /// message between them) and returns their acknowledgement, which comes once they are
    /// durable per the journal's durability, or fails. Never blocks.
    func submit(contentsOf messages: [[UInt8]]) -> AppendTicket
    /// Returns once everything submitted before is written and synced, whatever the durability,
    /// and the journal is still the one this owner opened.
    func flush() async throws(JournalError)
    /// Replays this journal as ``JournalStore/replay(_:from:chunkMessages:)`` does, from the start.
    func replay(chunkMessages: Int) -> JournalReplay
    /// Stores `state`, the state after message `sequence`, as the snapshot; replay then starts
    /// from it. Runs after everything submitted before.
    func writeSnapshot(_ state: [UInt8], through sequence: UInt64) async throws(JournalError)
    /// Queues a snapshot as ``writeSnapshot(_:through:)`` does, without waiting: `then` gets the
    /// outcome on one of the store's threads.
    func requestSnapshot(
        _ state: [UInt8], through sequence: UInt64, then: @escaping @Sendable (Result<Void, JournalError>) -> Void)
    /// Records a digest of the state after message `digest.sequence`, in order with the
    /// messages, for the determinism check on replay.
    func recordStateDigest(_ digest: StateDigest)
    /// Moves the messages from `sequence` on aside (kept, reported, never dropped) and cuts
    /// them from the journal; the next message gets `sequence`. Returns where they went.
    func quarantine(from sequence: UInt64) async throws(JournalError) -> String
    /// A normal stop after everything submitted before: `discard` removes the journal (a
    /// transient state), otherwise it is kept, durable. Ownership ends. Cancelling the caller
    /// ends the wait, not the close.
    func close(discard: Bool) async throws(JournalError)
    /// ``close(discard:)`` whose wait ignores cancellation: returns only once ownership ended.
    func closeIgnoringCancellation(discard: Bool) async throws(JournalError)
    /// Ends ownership as if the OS process died here: nothing more is made durable, no clean
    /// stop is recorded. For crash tests.
    func abandon() async
}

extension OwnedJournal {
    /// The file format's limit, ``JournalFormat/maxMessageSize``.
    public var largestMessage: Int { JournalFormat.maxMessageSize }

    /// Replays this journal in chunks of up to 4,096 messages.
    public func replay() -> JournalReplay { replay(chunkMessages: 4096) }
}
