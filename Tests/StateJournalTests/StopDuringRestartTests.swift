import Foundation
import Logging
import StateJournal
@_spi(JournalStores) import StateJournalStorage
import Synchronization
import Testing

/// A normal stop that comes while the process starts (or restarts), its journal being opened:
/// the stop waits for the start to give way, then closes (here, discards) the journal the start
/// opened. Before, the stop found no journal open yet and returned; the start then opened it
/// and kept it: the transient journal outlived its normal stop, and stayed owned (a new owner
/// in this OS process was refused as `locked`).
@Suite(.timeLimit(.minutes(1)))
struct StopDuringRestartTests {
    /// The file store, whose first `open` waits until the test lets it go on.
    final class GatedStore: ForwardingStore, @unchecked Sendable {
        private let opens = Mutex(0)
        let opening: AsyncStream<Void>
        private let reached: AsyncStream<Void>.Continuation
        let release: AsyncStream<Void>.Continuation
        private let released: AsyncStream<Void>

        override init(directory: String) {
            (opening, reached) = AsyncStream.makeStream()
            (released, release) = AsyncStream.makeStream()
            super.init(directory: directory)
        }

        override func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
            -> any OwnedJournal
        {
            if opens.withLock({ opens in
                opens += 1
                return opens == 1
            }) {
                reached.yield()
                for await _ in released { break }
            }
            return try await super.open(name, options: options, logger: logger)
        }
    }

    @Test func aNormalStopDuringAStartDiscardsTheJournalTheStartOpened() async throws {
        let directory = TemporaryDirectory()
        let store = GatedStore(directory: directory.path)
        let supervisor = Supervisor(store: store, backoff: nil, logger: quietLogger)
        let journal = store.location(of: "room")
        try await supervisor.run {
            async let started = supervisor.start(
                ChildSpec(id: "room", process: ChatRoom(), options: fastOptions()))
            for await _ in store.opening { break }  // the start waits to open the journal
            async let stopped: Void = supervisor.shutdown()
            // Lets the stop begin before the restart goes on (only whether the race is met
            // depends on it: the outcome must be the same either way).
            try await Task.sleep(for: .milliseconds(100))
            store.release.yield()
            await stopped
            _ = try? await started
        }
        #expect(!FileManager.default.fileExists(atPath: journal), "a normal stop keeps no transient journal")
        let owner = FileJournalStore(directory: directory.path)
        let reopened = try await owner.open("room", options: JournalOptions(durability: .written), logger: quietLogger)
        #expect(reopened.nextSequence == 1)
        try await reopened.close(discard: true)
    }
}
