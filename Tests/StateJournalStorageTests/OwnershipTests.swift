import Foundation
import Logging
import StateJournalSystem
import Testing

@testable import StateJournalStorage

/// A journal stays its OS process's own while its writer is idle (file closed, `flock` gone):
/// another OS process cannot open it for writing, and `repair` refuses it. Before, idle release
/// let a second OS process take the journal, and the first later failed with `changedWhileIdle`.
@Suite struct OwnershipTests {
    @Test func anIdleJournalIsNotTakenByAnotherOSProcess() async throws {
        let directory = TemporaryDirectory()
        let (writer, path) = try await idleWriter(in: directory)
        #expect(JournalLockProbe.holder(of: path) != nil, "owned while idle")

        // Another OS process: opening it for writing is refused with `locked`.
        await #expect(processExitsWith: .success) { [path = path as String] in
            do {
                _ = try await JournalWriter.open(
                    path: path, processID: "owned", options: JournalOptions(),
                    logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
                exit(1)
            } catch let error as JournalError where error.code == .locked {
                exit(0)
            } catch {
                exit(2)
            }
        }
        // The owner goes on as if nothing happened, and after its close the journal is free.
        _ = try await writer.append(Array("still mine".utf8))
        try await writer.close(discard: false)
        #expect(JournalLockProbe.holder(of: path) == nil)
        #expect(try readAll(path).messages.map { String(decoding: $0.bytes, as: UTF8.self) } == ["mine", "still mine"])
    }

    /// Claims are counted per journal: the byte stays locked until the last claim of its journal
    /// is released, whatever the other journals of the directory do.
    @Test func claimsAreCountedPerJournalAndTheLastReleaseFreesIt() throws {
        let directory = TemporaryDirectory()
        let paths = (0..<200).map { directory.path + "/p\($0).journal" }
        for path in paths { try JournalOwnership.claim(path) }
        try JournalOwnership.claim(paths[7])
        #expect(paths.allSatisfy(JournalOwnership.isOwnedElsewhere), "every byte locked, seen from another description")

        JournalOwnership.release(paths[7])
        #expect(JournalOwnership.isOwnedElsewhere(paths[7]), "one claim of it is left")
        for path in paths { JournalOwnership.release(path) }
        #expect(!paths.contains(where: JournalOwnership.isOwnedElsewhere), "all released")

        // Claimed again after the owners file was closed: it is opened again.
        try JournalOwnership.claim(paths[3])
        #expect(JournalOwnership.isOwnedElsewhere(paths[3]))
        #expect(!JournalOwnership.isOwnedElsewhere(paths[4]))
        JournalOwnership.release(paths[3])
        #expect(!JournalOwnership.isOwnedElsewhere(paths[3]))
        // A directory that does not exist: nothing to claim (opening the journal says so).
        try JournalOwnership.claim(directory.path + "/missing/p.journal")
        JournalOwnership.release(directory.path + "/missing/p.journal")
    }

    /// A writer of `owned.journal` in `directory` that appended "mine" and went idle (its file closed).
    func idleWriter(in directory: TemporaryDirectory) async throws -> (writer: JournalWriter, path: String) {
        let path = directory.path + "/owned.journal"
        var options = JournalOptions(idleTimeout: .milliseconds(20))
        options.timeMarkInterval = nil
        let writer = try await JournalWriter.open(path: path, processID: "owned", options: options, logger: testLogger)
        _ = try await writer.append(Array("mine".utf8))
        while writer.isFileOpen { try await Task.sleep(for: .milliseconds(5)) }
        return (writer, path)
    }

    /// ``idleWriter(in:)``, and the directory's owners file then removed by hand.
    func idleWriterWithoutItsOwnersFile(
        in directory: TemporaryDirectory
    ) async throws -> (writer: JournalWriter, path: String, owners: String) {
        let (writer, path) = try await idleWriter(in: directory)
        let owners = directory.path + "/" + JournalOwnership.fileName
        try FileManager.default.removeItem(atPath: owners)
        return (writer, path, owners)
    }

    /// The owners file removed by hand while a journal's writer is idle: another OS process
    /// (here an open file description of its own, which is what an OFD lock tells apart) creates
    /// a new one and claims the journal. The idle writer's next append is refused with `locked`,
    /// and writes nothing, instead of both processes taking the journal for theirs. Before: the
    /// append went through.
    @Test func anIdleJournalWhoseOwnersFileWasRemovedAndTakenIsNotWrittenAgain() async throws {
        let directory = TemporaryDirectory()
        let (writer, path, owners) = try await idleWriterWithoutItsOwnersFile(in: directory)
        let other = try Syscall.open(owners, [.readWrite, .create], mode: 0o644)
        defer { Syscall.close(other) }
        #expect(try Syscall.tryLockByte(other, at: JournalOwnership.offset(of: path), exclusive: true))

        await #expect {
            _ = try await writer.append(Array("not mine any more".utf8))
        } throws: {
            ($0 as? JournalError)?.code == .locked
        }
        #expect(try readAll(path).messages.map { String(decoding: $0.bytes, as: UTF8.self) } == ["mine"])
        await writer.abandon()
    }

    /// The owners file removed by hand while a journal's writer is idle, and nobody else claims
    /// the journal: the next append takes the claim again in a new owners file, so that another
    /// OS process is refused the journal as before.
    @Test func anIdleJournalWhoseOwnersFileWasRemovedIsClaimedAgain() async throws {
        let directory = TemporaryDirectory()
        let (writer, path, owners) = try await idleWriterWithoutItsOwnersFile(in: directory)
        #expect(!JournalOwnership.isOwnedElsewhere(path), "nobody holds the journal's byte in no file")

        _ = try await writer.append(Array("still mine".utf8))
        #expect(FileManager.default.fileExists(atPath: owners))
        let other = try Syscall.open(owners, [.readWrite, .create], mode: 0o644)
        defer { Syscall.close(other) }
        #expect(
            try !Syscall.tryLockByte(other, at: JournalOwnership.offset(of: path), exclusive: true),
            "owned again: another open of the owners file cannot take the journal's byte")
        try await writer.close(discard: false)
        #expect(try readAll(path).messages.map { String(decoding: $0.bytes, as: UTF8.self) } == ["mine", "still mine"])
    }
}
