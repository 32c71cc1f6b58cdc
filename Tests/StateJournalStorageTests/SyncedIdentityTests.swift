import Foundation
import StateJournalStorage
import Testing

/// A `.synced` journal's identity is checked by its sync round (while the round waits for the
/// file system) rather than by the writing thread: still after the write and before any answer.
@Suite struct SyncedIdentityTests {
    @Test(arguments: [SyncMethod.fileSystem, .perFile])
    func aSyncedJournalRemovedOrReplacedAcknowledgesNothingMore(_ method: SyncMethod) async throws {
        let directory = TemporaryDirectory("synced-identity")
        var options = JournalOptions.testing(.synced)
        options.syncMethod = method
        var writers: [JournalWriter] = []
        for i in 0..<6 {
            let writer = try await JournalWriter.open(
                path: directory.file("j\(i).journal"), processID: "j\(i)", options: options, logger: testLogger)
            _ = try await writer.append([UInt8(i)])
            writers.append(writer)
        }
        // j1 removed; another file moved over j2.
        #expect(unlink(directory.file("j1.journal")) == 0)
        #expect(FileManager.default.createFile(atPath: directory.file("other"), contents: Data([9])))
        #expect(rename(directory.file("other"), directory.file("j2.journal")) == 0)

        // One more message to each, all at once: the round (or the per-file syncs) covers the
        // six, and only the two changed journals fail.
        let outcomes = await withTaskGroup(of: (Int, JournalError?).self) { group in
            for (i, writer) in writers.enumerated() {
                group.addTask {
                    do {
                        _ = try await writer.append([UInt8(10 + i)])
                        return (i, nil)
                    } catch let error as JournalError {
                        return (i, error)
                    } catch {
                        Issue.record("j\(i): not a JournalError: \(error)")
                        return (i, nil)
                    }
                }
            }
            var outcomes: [Int: JournalError?] = [:]
            for await (i, error) in group { outcomes[i] = error }
            return outcomes
        }
        for i in 0..<6 {
            let error: JournalError? = outcomes[i] ?? nil
            if i == 1 || i == 2 {
                #expect(error?.code == .replaced, "j\(i): \(String(describing: error))")
            } else {
                #expect(error == nil, "j\(i): \(String(describing: error))")
            }
        }
        // The failed writers stay failed; the others go on.
        await #expect(throws: JournalError.self) { _ = try await writers[1].append([99]) }
        _ = try await writers[0].append([20])
        for (i, writer) in writers.enumerated() where i != 1 && i != 2 { try await writer.close(discard: true) }
    }
}
