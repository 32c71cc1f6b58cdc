import Foundation
import StateJournal
import StateJournalStorage
import StateJournalTesting
import Testing

struct Rejecting: JournaledProcess {
    var initialState: Int { 0 }
    func apply(_ message: Int, to state: inout Int) throws {
        if message < 0 { throw CancellationError() }
        state += message
    }
}

/// G5: every blocking write, sync and read of the library runs on threads it owns, never on Swift's
/// cooperative pool.
@Suite struct BlockingCallTests {
    @Test(arguments: [
        (Durability.buffered(within: .milliseconds(1)), SyncMethod.automatic), (.written, .automatic),
        (.synced, .automatic), (.synced, .perFile), (.synced, .fileSystem),
    ])
    func writerWritesAndSyncsOnlyOnLibraryThreads(durability: Durability, method: SyncMethod) async throws {
        let directory = TemporaryJournalDirectory()
        let watch = FileFaults(under: directory.path)
        watch.install()
        defer { watch.uninstall() }
        var journal = options(durability)
        journal.syncMethod = method
        let path = directory.file("g5.journal")
        let writer = try await JournalWriter.open(path: path, processID: "g5", options: journal, logger: silent)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<8 {
                group.addTask { for i in 0..<20 { try await writer.append(Array("\(sender)-\(i)".utf8)) } }
            }
            try await group.waitForAll()
        }
        try await writer.flush()
        try await writer.writeSnapshot([1, 2, 3], through: 100)
        try await writer.close(discard: true)
        #expect(watch.counters.writes > 0 && watch.counters.syncs > 0, "the calls were observed")
        #expect(watch.callsOffLibraryThreads.isEmpty, "\(watch.callsOffLibraryThreads)")
    }

    @Test func processesWriteAndSyncOnlyOnLibraryThreads() async throws {
        let directory = TemporaryJournalDirectory()
        let watch = FileFaults(under: directory.path)
        watch.install()
        defer { watch.uninstall() }
        var processOptions = ProcessOptions(durability: .synced, snapshots: .every(messages: 10))
        processOptions.journal.timeMarkInterval = nil
        let supervisor = Supervisor(directory: directory.path, logger: silent)
        try await supervisor.run {
            let counter = try await supervisor.start(ChildSpec(id: "c", process: Rejecting(), options: processOptions))
            for i in 1...30 { try await counter.send(i) }
            await #expect(throws: ProcessError.self) { try await counter.send(-1) }  // crash and restart
            #expect(try await counter.state == 465)
            // A subscription from the start reads the journal (and the snapshot) to catch up.
            var seen = 0
            for try await event in counter.messages(from: 1) {
                seen += 1
                if event.sequence >= 30 { break }
            }
            #expect(seen > 0)
        }
        #expect(watch.counters.writes > 0)
        #expect(watch.callsOffLibraryThreads.isEmpty, "\(watch.callsOffLibraryThreads)")
    }
}
