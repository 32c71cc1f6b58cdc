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
        let elsewhere = TemporaryDirectory("creation-live")
        let live = try await JournalWriter.open(
            path: elsewhere.file("live.journal"), processID: "live", options: .testing(), logger: testLogger)
        _ = try await live.append([0])

        let faults = FileFaults(under: stalled.path)
        faults.install()
        defer { faults.uninstall() }
        faults.holdSyncs()
        try await withThrowingTaskGroup(of: Void.self) { creations in
            for i in 0..<4 {
                creations.addTask {
                    let writer = try await JournalWriter.open(
                        path: stalled.file("new\(i).journal"), processID: "new\(i)", options: .testing(),
                        logger: testLogger)
                    try await writer.close(discard: true)
                }
            }
            // At least as many creations wait in `fsync` as the writers have threads.
            for _ in 0..<3000 where faults.heldSyncs < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(faults.heldSyncs >= 2)

            // The live journal's append is answered while they wait.
            let answered = try await Self.answeredWithin30Seconds(thenRelease: faults) {
                _ = try await live.append([1])
            }
            #expect(answered, "an append to a live journal waited for creations stalled in fsync")
            try await creations.waitForAll()
        }
        try await live.close(discard: true)
    }

    @Test(arguments: ["snapshot", "close", "flush"])
    func anAppendIsNotHeldUpByOtherJournalsWaitingOnTheirSyncs(_ work: String) async throws {
        let stalled = TemporaryDirectory("stalled-\(work)")
        let elsewhere = TemporaryDirectory("live-\(work)")
        let live = try await JournalWriter.open(
            path: elsewhere.file("live.journal"), processID: "live", options: .testing(), logger: testLogger)
        var busy: [JournalWriter] = []
        for i in 0..<4 {
            let writer = try await JournalWriter.open(
                path: stalled.file("busy\(i).journal"), processID: "busy\(i)", options: .testing(),
                logger: testLogger)
            _ = try await writer.append([UInt8(i)])
            busy.append(writer)
        }
        let writers = busy

        let faults = FileFaults(under: stalled.path)
        faults.install()
        defer { faults.uninstall() }
        faults.holdSyncs()
        try await withThrowingTaskGroup(of: Void.self) { stalledWork in
            for writer in writers {
                stalledWork.addTask {
                    switch work {
                    case "snapshot": try await writer.writeSnapshot([1], through: 1)
                    case "close": try await writer.close(discard: false)
                    default: try await writer.flush()
                    }
                }
            }
            for _ in 0..<3000 where faults.heldSyncs < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(faults.heldSyncs >= 2)
            let answered = try await Self.answeredWithin30Seconds(thenRelease: faults) {
                _ = try await live.append([1])
            }
            #expect(answered, "an append to a live journal waited for another journal's \(work) stalled in fsync")
            try await stalledWork.waitForAll()
        }
        if work != "close" {
            for writer in writers { try await writer.close(discard: true) }
        }
        try await live.close(discard: true)
    }

    /// Whether `body` returns within 30 s (bounded, so that the old code fails instead of
    /// hanging: there it waited until the syncs were released). Then releases the held syncs and
    /// waits for `body` to end.
    static func answeredWithin30Seconds(
        thenRelease faults: FileFaults, _ body: @escaping @Sendable () async throws -> Void
    ) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { race in
            race.addTask {
                try await body()
                return true
            }
            race.addTask {
                try? await Task.sleep(for: .seconds(30))
                return false
            }
            let first = try await race.next() ?? false
            race.cancelAll()
            faults.releaseSyncs()
            try await race.waitForAll()
            return first
        }
    }
}
