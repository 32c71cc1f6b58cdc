import Logging
import StateJournal
@_spi(JournalStores) import StateJournalStorage

/// The file store, as the base of test stores that change one thing: every call is forwarded,
/// and `open` wraps the journal with `wrap`.
class ForwardingStore: JournalStore, @unchecked Sendable {
    // Unchecked: subclasses add only `Sendable` state.
    let inner: FileJournalStore

    init(directory: String) { inner = FileJournalStore(directory: directory) }

    /// The journal a test store hands out instead of the file store's.
    func wrap(_ journal: any OwnedJournal) -> any OwnedJournal { journal }

    func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
        -> any OwnedJournal
    {
        wrap(try await inner.open(name, options: options, logger: logger))
    }
    func list() async throws(JournalError) -> [StoredJournal] { try await inner.list() }
    func replay(_ name: String, from sequence: UInt64, chunkMessages: Int) -> JournalReplay {
        inner.replay(name, from: sequence, chunkMessages: chunkMessages)
    }
    func discard(_ journal: StoredJournal, logger: Logger) async throws(JournalError) {
        try await inner.discard(journal, logger: logger)
    }
    func location(of name: String) -> String { inner.location(of: name) }
}

/// A journal that forwards every call to another: test doubles override what they change.
class ForwardingJournal: OwnedJournal, @unchecked Sendable {
    // Unchecked: subclasses add only `Sendable` state.
    let inner: any OwnedJournal

    init(inner: any OwnedJournal) { self.inner = inner }

    var location: String { inner.location }
    var nextSequence: UInt64 { inner.nextSequence }
    var largestMessage: Int { inner.largestMessage }
    func submit(contentsOf messages: [[UInt8]]) -> AppendTicket { inner.submit(contentsOf: messages) }
    func flush() async throws(JournalError) { try await inner.flush() }
    func replay(chunkMessages: Int) -> JournalReplay { inner.replay(chunkMessages: chunkMessages) }
    func writeSnapshot(_ state: [UInt8], through sequence: UInt64) async throws(JournalError) {
        try await inner.writeSnapshot(state, through: sequence)
    }
    func requestSnapshot(
        _ state: [UInt8], through sequence: UInt64, then: @escaping @Sendable (Result<Void, JournalError>) -> Void
    ) { inner.requestSnapshot(state, through: sequence, then: then) }
    func recordStateDigest(_ digest: StateDigest) { inner.recordStateDigest(digest) }
    func quarantine(from sequence: UInt64) async throws(JournalError) -> String {
        try await inner.quarantine(from: sequence)
    }
    func close(discard: Bool) async throws(JournalError) { try await inner.close(discard: discard) }
    func closeIgnoringCancellation(discard: Bool) async throws(JournalError) {
        try await inner.closeIgnoringCancellation(discard: discard)
    }
    func abandon() async { await inner.abandon() }
}
