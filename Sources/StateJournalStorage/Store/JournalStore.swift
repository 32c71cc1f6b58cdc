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

extension JournalStore {
    /// Replays journal `name` from its start in chunks of up to 4,096 messages.
    public func replay(_ name: String) -> JournalReplay { replay(name, from: 1, chunkMessages: 4096) }
}
