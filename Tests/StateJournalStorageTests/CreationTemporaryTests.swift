import Foundation
import StateJournalSystem
import Testing

@testable import StateJournalStorage

/// What a creator that died before finishing leaves (`<journal>.create.<pid>.<n>.tmp`) is
/// removed by the next OS process that opens a journal in the directory; a creation at work
/// (its temporary locked) is left alone.
@Suite struct CreationTemporaryTests {
    @Test func aStaleTemporaryOfAnyJournalGoesAndALockedOneStays() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("a.journal")
        let writer = try await JournalWriter.open(path: path, processID: "a", options: .testing(), logger: testLogger)
        try await writer.append([1])
        try await writer.close(discard: false)

        // A creator of another journal that died: nothing holds its temporary.
        let stale = directory.file("b.journal.create.4242.17.tmp")
        try Data([0x53]).write(to: URL(fileURLWithPath: stale))
        // A creator of this very journal at work (in another OS process, say): its temporary is locked.
        let live = directory.file("a.journal.create.4343.18.tmp")
        try Data([0x53]).write(to: URL(fileURLWithPath: live))
        let held = try Syscall.open(live, .readOnly)
        defer { Syscall.close(held) }
        #expect(try Syscall.tryLockExclusive(held))

        let reopened = try await JournalWriter.open(
            path: path, processID: "a", options: .testing(), logger: testLogger)
        #expect(!FileManager.default.fileExists(atPath: stale), "a dead creator's temporary was left")
        #expect(FileManager.default.fileExists(atPath: live), "a locked temporary of a creation at work was removed")
        #expect(try await reopened.append([2]) == 2)
        try await reopened.close(discard: false)
    }
}
