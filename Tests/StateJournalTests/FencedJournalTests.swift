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
    final class FencingStore: ForwardingStore, @unchecked Sendable {
        let fenced = LockedValue(false)
        let opens = LockedValue(0)

        override func wrap(_ journal: any OwnedJournal) -> any OwnedJournal {
            opens.withLock { $0 += 1 }
            return Fenceable(inner: journal, store: self)
        }
    }

    /// The file store's journal, whose appends and flushes fail with `fenced` once its store says
    /// so (the PostgreSQL store's flush is a write conditional on the epoch too).
    final class Fenceable: ForwardingJournal, @unchecked Sendable {
        let store: FencingStore
        init(inner: any OwnedJournal, store: FencingStore) {
            self.store = store
            super.init(inner: inner)
        }

        var fencedError: JournalError? {
            guard store.fenced.withLock({ $0 }) else { return nil }
            return JournalError(code: .fenced, message: "another owner took the journal over", path: location)
        }
        override func submit(contentsOf messages: [[UInt8]]) -> AppendTicket {
            guard let fencedError else { return inner.submit(contentsOf: messages) }
            let ticket = AppendTicket()
            ticket.complete(.failure(fencedError))
            return ticket
        }
        override func flush() async throws(JournalError) {
            if let fencedError { throw fencedError }
            try await inner.flush()
        }
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
