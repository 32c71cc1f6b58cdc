import Foundation
import Logging
import StateJournal
import StateJournalSystem
import StateJournalTesting
import Testing

/// The runtime reaches storage only through its `JournalStore`: a supervisor given a store
/// opens, lists, replays and discards through it, and a process's whole life (crash, restart,
/// recovery in a new supervisor, transient discard) works through the seam.
@Suite struct StoreSeamTests {
    /// A store that forwards to the file store and records every call.
    final class RecordingStore: JournalStore {
        let inner: FileJournalStore
        let calls = Calls()

        final class Calls: Sendable {
            private let recorded = LockedValue([String]())
            func add(_ call: String) { recorded.withLock { $0.append(call) } }
            var all: [String] { recorded.withLock { $0 } }
        }

        init(directory: String) { inner = FileJournalStore(directory: directory) }

        func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
            -> any OwnedJournal
        {
            calls.add("open \(name)")
            return try await inner.open(name, options: options, logger: logger)
        }
        func list() async throws(JournalError) -> [StoredJournal] {
            calls.add("list")
            return try await inner.list()
        }
        func replay(_ name: String, from sequence: UInt64, chunkMessages: Int) -> JournalReplay {
            calls.add("replay \(name) from \(sequence)")
            return inner.replay(name, from: sequence, chunkMessages: chunkMessages)
        }
        func discard(_ journal: StoredJournal, logger: Logger) async throws(JournalError) {
            calls.add("discard \(journal.name ?? journal.location)")
            try await inner.discard(journal, logger: logger)
        }
        func location(of name: String) -> String { inner.location(of: name) }
    }

    @Test func aProcessLivesThroughTheStoreSeam() async throws {
        let directory = TemporaryDirectory()
        let first = RecordingStore(directory: directory.path)
        let supervisor = Supervisor(store: first, logger: quietLogger)
        try await supervisor.run {
            var options = fastOptions()
            options.retention = .persistent
            let counter = try await supervisor.start(ChildSpec(id: "counter", process: Counter(), options: options))
            for value in 1...5 { try await counter.send(value) }
            // A subscriber that starts at 1 reads the acknowledged messages through the store.
            var seen: [Int] = []
            for try await event in counter.messages(from: 1) {
                if case .message(_, let value) = event { seen.append(value) }
                if seen.count == 5 { break }
            }
            #expect(seen == [1, 2, 3, 4, 5])
            #expect(counter.journalPath == first.location(of: "counter"))
        }
        #expect(first.calls.all.contains("open counter"))
        #expect(first.calls.all.contains("replay counter from 1"))

        // A new supervisor finds the journal through its store's listing and rebuilds the state.
        let second = RecordingStore(directory: directory.path)
        let recovering = Supervisor(store: second, unclaimedJournals: .discardOnGracefulShutdown, logger: quietLogger)
        try await recovering.run {
            let recovery = try await recovering.recoverChildren { id in
                var options = fastOptions()
                options.retention = .transient
                return ChildSpec(id: id, process: Counter(), options: options)
            }
            #expect(recovery.started == ["counter"])
            let counter = try #require(await recovering.handle(for: "counter", as: Counter.self))
            #expect(try await counter.state == 15)
            // A journal no child claims, written through the store: discarded on graceful shutdown.
            let stray = try await second.open("stray", options: JournalOptions(), logger: quietLogger)
            _ = try await stray.submit(contentsOf: [[1]]).value()
            try await stray.close(discard: false)
        }
        #expect(second.calls.all.filter { $0 == "list" }.count >= 2)
        #expect(second.calls.all.contains("open counter"))
        #expect(second.calls.all.contains("discard stray"))
        let left = try await second.list()
        #expect(left.isEmpty, "\(left)")
    }
}
