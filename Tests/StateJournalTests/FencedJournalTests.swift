import Foundation
import Logging
import StateJournal
@_spi(JournalStores) import StateJournalStorage
import StateJournalSystem
import Testing

/// A journal taken over by another owner (a shared store's newer epoch) is fenced: its process
/// stops and is not restarted, since a restart would open the journal again beside the new
/// owner (a split brain). The store here is the file store with one switch that refuses every
/// later append as fenced, as the PostgreSQL store does once another node took the journal.
@Suite(.timeLimit(.minutes(2))) struct FencedJournalTests {
    final class FencingStore: JournalStore {
        let inner: FileJournalStore
        let fenced = LockedValue(false)
        let opens = LockedValue(0)

        init(directory: String) { inner = FileJournalStore(directory: directory) }

        func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
            -> any OwnedJournal
        {
            opens.withLock { $0 += 1 }
            return Fenceable(inner: try await inner.open(name, options: options, logger: logger), store: self)
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

    /// The file store's journal, whose appends and flushes fail with `fenced` once its store says
    /// so (the PostgreSQL store's flush is a write conditional on the epoch too).
    final class Fenceable: OwnedJournal {
        let inner: any OwnedJournal
        let store: FencingStore
        init(inner: any OwnedJournal, store: FencingStore) {
            self.inner = inner
            self.store = store
        }

        var location: String { inner.location }
        var nextSequence: UInt64 { inner.nextSequence }
        var fencedError: JournalError? {
            guard store.fenced.withLock({ $0 }) else { return nil }
            return JournalError(code: .fenced, message: "another owner took the journal over", path: location)
        }
        func submit(contentsOf messages: [[UInt8]]) -> AppendTicket {
            guard let fencedError else { return inner.submit(contentsOf: messages) }
            let ticket = AppendTicket()
            ticket.complete(.failure(fencedError))
            return ticket
        }
        func flush() async throws(JournalError) {
            if let fencedError { throw fencedError }
            try await inner.flush()
        }
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

    @Test func aFencedProcessStopsAndIsNotRestarted() async throws {
        let directory = TemporaryDirectory()
        let store = FencingStore(directory: directory.path)
        let supervisor = Supervisor(store: store, logger: quietLogger)
        try await supervisor.run {
            var options = fastOptions()
            options.retention = .persistent
            let counter = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: options))
            try await counter.send(1)
            store.fenced.withLock { $0 = true }
            let refused = await #expect(throws: ProcessError.self) { try await counter.send(2) }
            #expect(refused?.code == .journalFailed, "\(String(describing: refused))")
            // Once the supervisor has dealt with the crash, the process refuses what it is sent,
            // and the journal was never opened again (that would be beside the new owner).
            _ = await supervisor.collect { seen in
                seen.contains { event in
                    if case .gaveUp = event { return true }
                    return event.restartedID == "c"
                }
            }
            await #expect(throws: ProcessError.self) { try await counter.send(3) }
            await #expect(throws: ProcessError.self) { try await counter.send(4) }
            #expect(store.opens.withLock { $0 } == 1)
        }
    }
}
