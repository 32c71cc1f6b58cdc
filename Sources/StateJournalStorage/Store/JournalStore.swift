public import Logging

/// Where journals are kept, by name: the one seam between the runtime and storage.
///
/// The runtime (``JournalWriter``'s users: a supervisor's processes, the test kit) talks to
/// storage only through a store and the ``OwnedJournal``s it opens. ``FileJournalStore`` keeps
/// each journal in its own file of one directory; another store keeps them elsewhere (a
/// database) and proves that it keeps the same promises by passing the conformance suite in
/// `StateJournalTesting` (`JournalStoreConformance`).
///
/// A store keeps these promises:
/// - **Ownership.** An open journal has one owner until it is closed or abandoned; opening it
///   again meanwhile — from this OS process or any other — throws ``JournalError/Code/locked``.
/// - **Order.** Sequence numbers are given in the order of ``OwnedJournal/submit(contentsOf:)``,
///   from 1 (or after the snapshot), strictly increasing and without gaps; a replay yields them
///   in that order.
/// - **Durability.** An acknowledgement means what the journal's ``Durability`` says: an
///   acknowledged message is replayed after the owner dies (for `.written` and `.synced`) or
///   after the machine loses power (`.synced`); a failure acknowledges nothing after it.
/// - **Discard.** ``OwnedJournal/close(discard:)`` with `true` removes the journal and its
///   snapshot at once: a crash in the middle leaves either all of it or nothing.
/// - **Snapshots.** After a snapshot through sequence *s*, a replay yields the snapshot, then
///   the messages after *s* only.
/// - **Identity.** Names are distinct journals; a journal removed or replaced under its owner
///   acknowledges nothing more (``JournalError/Code/replaced``), so no acknowledged message
///   lands where no replay finds it.
public protocol JournalStore: Sendable {
    /// Opens journal `name`, recovering it (see ``RecoveryReport``) or creating it empty, and
    /// owns it until the returned journal is closed or abandoned.
    ///
    /// - Throws: ``JournalError`` with ``JournalError/Code/locked`` when another owner holds it.
    func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError) -> any OwnedJournal

    /// The journals the store holds, owned or not, in a stable order.
    func list() async throws(JournalError) -> [StoredJournal]

    /// Reads journal `name` without owning it, as it is when each chunk is read: the snapshot
    /// when it covers `sequence` or later, then the messages from `sequence` on (and after the
    /// snapshot). A journal the store does not hold replays as empty. For readers beside the
    /// owner: subscriptions catching up, inspection.
    func replay(_ name: String, from sequence: UInt64, chunkMessages: Int) -> JournalReplay

    /// Removes a journal nobody owns, as a discarding close would: ownership is taken first, so
    /// an owned journal is left alone (``JournalError/Code/locked``).
    func discard(_ journal: StoredJournal, logger: Logger) async throws(JournalError)

    /// Where journal `name` is kept, for errors, logs and operators (for files, the path).
    func location(of name: String) -> String
}

/// A journal a store holds, as ``JournalStore/list()`` finds it.
public struct StoredJournal: Sendable, Hashable {
    /// The name it is opened by; nil when the store cannot tell it from what it keeps (the file
    /// store's hashed names of very long names).
    public var name: String?
    /// Where it is kept (``JournalStore/location(of:)``).
    public var location: String

    public init(name: String?, location: String) {
        self.name = name
        self.location = location
    }
}

/// A journal opened by its one owner: appends in order, acknowledged per its durability.
///
/// ``JournalWriter`` is the file store's. Every method may be called from any thread or task;
/// blocking work runs on threads the store owns, never on Swift's cooperative pool.
public protocol OwnedJournal: AnyObject, Sendable {
    /// Where the journal is kept (for the file store, its path).
    var location: String { get }
    /// The sequence number the next submitted message will get.
    var nextSequence: UInt64 { get }
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
    /// Replays this journal in chunks of up to 4,096 messages.
    public func replay() -> JournalReplay { replay(chunkMessages: 4096) }
}

extension JournalStore {
    /// Replays journal `name` from its start in chunks of up to 4,096 messages.
    public func replay(_ name: String) -> JournalReplay { replay(name, from: 1, chunkMessages: 4096) }
}
