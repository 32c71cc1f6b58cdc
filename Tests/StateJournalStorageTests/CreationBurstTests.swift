import Foundation
import StateJournalStorage
import StateJournalTesting
import Testing

/// Journals being created wait on `fsync`s of their new files and directory; a journal already
/// open must not wait behind them. Before, creation ran on the threads that write every open
/// journal: with their syncs stalled (a slow disk, a burst of new sessions), the appends of a
/// live journal in another directory waited for all of them.
@Suite struct CreationBurstTests {
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

            // The live journal's append is answered while they wait (bounded, so that the old
            // code fails here instead of hanging: it waited until the syncs were released).
            let answered = try await withThrowingTaskGroup(of: Bool.self) { race in
                race.addTask {
                    _ = try await live.append([1])
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
            #expect(answered, "an append to a live journal waited for creations stalled in fsync")
            faults.releaseSyncs()
            try await creations.waitForAll()
        }
        try await live.close(discard: true)
    }
}
