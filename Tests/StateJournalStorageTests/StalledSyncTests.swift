import Foundation
import StateJournalStorage
import StateJournalTesting
import Testing

/// Journals being created, snapshotted or closed wait on `fsync`s of files and directories; a
/// journal already open must not wait behind them. Before, that work ran on the threads that
/// write every open journal: with their syncs stalled (a slow disk, a burst of new sessions,
/// snapshots taken by policy), the appends of a live journal in another directory waited for
/// all of them.
@Suite struct StalledSyncTests {
    @Test func anAppendIsNotHeldUpByCreationsWaitingOnTheirSyncs() async throws {
        let stalled = TemporaryDirectory("creation-stalled")
        try await Self.expectAppendAnswered(
            while: "creations", stalledIn: stalled,
            (0..<4).map { i in
                {
                    let writer = try await JournalWriter.open(
                        path: stalled.file("new\(i).journal"), processID: "new\(i)", options: .testing(),
                        logger: testLogger)
                    try await writer.close(discard: true)
                }
            })
    }

    @Test(arguments: ["snapshot", "close", "flush"])
    func anAppendIsNotHeldUpByOtherJournalsWaitingOnTheirSyncs(_ work: String) async throws {
        let stalled = TemporaryDirectory("stalled-\(work)")
        var writers: [JournalWriter] = []
        for i in 0..<4 {
            let writer = try await JournalWriter.open(
                path: stalled.file("busy\(i).journal"), processID: "busy\(i)", options: .testing(),
                logger: testLogger)
            _ = try await writer.append([UInt8(i)])
            writers.append(writer)
        }
        try await Self.expectAppendAnswered(
            while: "another journal's \(work)", stalledIn: stalled,
            writers.map { writer in
                {
                    switch work {
                    case "snapshot": try await writer.writeSnapshot([1], through: 1)
                    case "close": try await writer.close(discard: false)
                    default: try await writer.flush()
                    }
                }
            })
        if work != "close" {
            for writer in writers { try await writer.close(discard: true) }
        }
    }

    /// `.synced` journals on two file systems (`$TMPDIR` and `/dev/shm`) whose sync rounds are
    /// stalled: each round is led by a thread that blocks in the file system's sync. Before,
    /// the leader was the writing thread whose append asked for the round, so two stalled
    /// file systems held both writing threads and no journal anywhere was written.
    @Test func anAppendIsNotHeldUpBySyncRoundsStalledOnOtherFileSystems() async throws {
        let onDisk = TemporaryDirectory("round-stalled")
        let inMemory = "/dev/shm/statejournal-round-stalled-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: inMemory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: inMemory) }
        let devices = try [onDisk.path, inMemory].map {
            try #require(FileManager.default.attributesOfItem(atPath: $0)[.systemNumber] as? Int)
        }
        try #require(devices[0] != devices[1], "the test needs /dev/shm on a file system other than $TMPDIR's")
        var writers: [JournalWriter] = []
        for (index, directory) in [onDisk.path, inMemory].enumerated() {
            writers.append(
                try await JournalWriter.open(
                    path: directory + "/synced\(index).journal", processID: "synced\(index)",
                    options: .testing(.synced), logger: testLogger))
        }
        try await Self.expectAppendAnswered(
            while: "sync rounds of two file systems", stalledIn: [onDisk.path, inMemory],
            writers.map { writer in { _ = try await writer.append([7]) } })
        for writer in writers { try await writer.close(discard: true) }
    }

    static func expectAppendAnswered(
        while what: String, stalledIn stalled: TemporaryJournalDirectory,
        _ stalledWork: [@Sendable () async throws -> Void]
    ) async throws {
        try await expectAppendAnswered(while: what, stalledIn: [stalled.path], stalledWork)
    }

    /// Starts `stalledWork` with the syncs of the files under `stalled` held until at least as
    /// many of them wait in a sync as the writers have threads, then expects an append to a
    /// live journal in another directory to be answered within 30 s (bounded, so that the old
    /// code fails instead of hanging: there it waited until the syncs were released). Then
    /// releases the syncs and waits for the stalled work.
    static func expectAppendAnswered(
        while what: String, stalledIn stalled: [String],
        _ stalledWork: [@Sendable () async throws -> Void]
    ) async throws {
        let elsewhere = TemporaryDirectory("live-beside-stalled")
        let live = try await JournalWriter.open(
            path: elsewhere.file("live.journal"), processID: "live", options: .testing(), logger: testLogger)
        _ = try await live.append([0])
        let faults = stalled.map { FileFaults(under: $0) }
        for fault in faults {
            fault.install()
            fault.holdSyncs()
        }
        defer { for fault in faults { fault.uninstall() } }
        let held = { faults.reduce(0) { $0 + $1.heldSyncs } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for work in stalledWork { group.addTask { try await work() } }
            for _ in 0..<3000 where held() < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(held() >= 2)
            let answered = try await finishesBeforeBound({ _ = try await live.append([1]) }) {
                for fault in faults { fault.releaseSyncs() }
            }
            #expect(answered, "an append to a live journal waited for \(what) stalled in a sync")
            try await group.waitForAll()
        }
        try await live.close(discard: true)
    }
}
