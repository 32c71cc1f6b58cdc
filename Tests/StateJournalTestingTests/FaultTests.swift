import Foundation
import Logging
import StateJournal
import StateJournalStorage
import StateJournalTesting
import Testing

let silent = Logger(label: "statejournal.testing.tests") { _ in SwiftLogNoOpLogHandler() }

func options(_ durability: Durability) -> JournalOptions {
    var options = JournalOptions(durability: durability, idleTimeout: nil)
    options.timeMarkInterval = nil
    return options
}

@Suite struct FaultTests {
    /// Recovery that cannot save a torn tail's bytes (a full disk) fails and leaves nothing
    /// behind: no empty `.cut-*` file, the journal as it was (before: a zero-byte copy stayed).
    @Test func aFailedSaveOfCutBytesLeavesNoPartialCopy() async throws {
        let directory = TemporaryJournalDirectory()
        let path = directory.file("torn.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "torn", options: options(.written), logger: silent)
        for i in 0..<10 { _ = try await writer.append(Array("message \(i)".utf8)) }
        try await writer.close(discard: false)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x40, 0, 0, 0, 9, 9]))  // the start of a frame, torn
        try handle.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let faults = FileFaults(under: directory.path)
        faults.failWrites(errno: .noSpace)
        faults.install()
        defer { faults.uninstall() }
        await #expect(throws: JournalError.self) {
            _ = try await JournalWriter.open(path: path, processID: "torn", options: options(.written), logger: silent)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".cut-") }
        #expect(left.isEmpty, "\(left)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    /// After a failed `fdatasync` the file is never appended to again: the process restarts
    /// into a new file holding the same bytes (before, it kept appending to the same inode,
    /// behind pages the kernel may have dropped), and nothing acknowledged is lost.
    @Test func aProcessGoesOnInANewFileAfterAFailedSync() async throws {
        let directory = TemporaryJournalDirectory()
        let faults = FileFaults(under: directory.path)
        faults.install()
        defer { faults.uninstall() }
        let supervisor = Supervisor(directory: directory.path, logger: silent)
        try await supervisor.run {
            var options = ProcessOptions(durability: .synced, retention: .persistent)
            options.journal.idleTimeout = nil
            let ledger = try await supervisor.start(
                ChildSpec(id: "ledger", process: HistoryCheck.Ledger(), options: options))
            try await ledger.send(.append(1))
            let path = directory.file("ledger.journal")
            var before = stat()
            stat(path, &before)
            faults.failSyncs(errno: .ioError)
            await #expect(throws: ProcessError.self) { try await ledger.send(.append(2)) }
            faults.stopFailingSyncs()
            try await ledger.send(.append(3))
            var after = stat()
            stat(path, &after)
            #expect(before.st_ino != after.st_ino, "appends went on in the file whose sync failed")
            // 2 was written (not acknowledged) before its sync failed: replay may keep it or not.
            let state = try await ledger.state
            #expect(state == [1, 3] || state == [1, 2, 3], "\(state)")
        }
    }

    /// G6: a failed fdatasync fails the batch and every later append, and is never retried on that file.
    @Test func failedSyncIsFinal() async throws {
        let directory = TemporaryJournalDirectory()
        let path = directory.file("s.journal")
        var perFile = options(.synced)
        perFile.syncMethod = .perFile  // its own fdatasync: the failure stays in this test's journal
        let writer = try await JournalWriter.open(path: path, processID: "s", options: perFile, logger: silent)
        try await writer.append([1])
        let faults = FileFaults(under: directory.path)
        faults.failSyncs(errno: .ioError)
        faults.install()
        defer { faults.uninstall() }
        do {
            try await writer.append([2])
            Issue.record("an append was acknowledged although its sync failed")
        } catch {
            #expect(error.code == .syncFailed)
            #expect(error.errno == .ioError)
            #expect(error.systemCall == "fdatasync")
        }
        let failedSyncs = faults.counters.failedSyncs
        do {
            try await writer.append([3])
            Issue.record("an append after a failed sync was accepted")
        } catch {
            #expect(error.code == .writerFailed)
        }
        #expect(faults.counters.failedSyncs == failedSyncs, "the failed file is never synced again")
    }

    @Test func fullDiskIsASpecificError() async throws {
        let directory = TemporaryJournalDirectory()
        let faults = FileFaults(under: directory.path)
        let writer = try await JournalWriter.open(
            path: directory.file("f.journal"), processID: "f", options: options(.written), logger: silent)
        faults.failWrites(errno: .noSpace, afterBytes: 500)
        faults.install()
        defer { faults.uninstall() }
        var acknowledged = 0
        var failure: JournalError?
        for _ in 0..<100 {
            do {
                try await writer.append([UInt8](repeating: 9, count: 100))
                acknowledged += 1
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .noSpace)
        #expect(failure?.errno == .noSpace)
        faults.uninstall()
        let reopened = try await JournalWriter.open(
            path: directory.file("f.journal"), processID: "f", options: options(.written), logger: silent)
        #expect(
            reopened.recovery.messagesToReplay == UInt64(acknowledged), "everything acknowledged is there, nothing else"
        )
        try await reopened.close(discard: false)
    }

    @Test func shortWritesAreCompleted() async throws {
        let directory = TemporaryJournalDirectory()
        let faults = FileFaults(under: directory.path)
        faults.shortWrites(maxBytes: 7)
        faults.install()
        let path = directory.file("short.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "short", options: options(.written), logger: silent)
        let messages = (0..<50).map { Array("message \($0) with some length".utf8) }
        for message in messages { try await writer.append(message) }
        try await writer.close(discard: false)
        faults.uninstall()
        #expect(faults.counters.writes > 50 * 5, "every write was cut short and completed by the loop")
        let reader = try JournalReader(path: path)
        var read: [[UInt8]] = []
        while let frame = try reader.nextFrame() { read += frame.messages.map(\.bytes) }
        #expect(read == messages)
    }

    @Test(arguments: [40, 97, 130, 211, 300])
    func crashMidWriteLeavesATornTailThatRecoveryCuts(afterBytes: Int) async throws {
        let directory = TemporaryJournalDirectory()
        let path = directory.file("torn.journal")
        let faults = FileFaults(under: directory.path)
        let writer = try await JournalWriter.open(
            path: path, processID: "torn", options: options(.written), logger: silent)
        faults.crashMidWrite(afterBytes: Int64(afterBytes))
        faults.install()
        var acknowledged: [UInt64] = []
        for i in 0..<20 {
            guard let sequence = try? await writer.append(Array("event \(i)".utf8)) else { break }
            acknowledged.append(sequence)
        }
        faults.uninstall()
        let reopened = try await JournalWriter.open(
            path: path, processID: "torn", options: options(.written), logger: silent)
        #expect(reopened.recovery.messagesToReplay == UInt64(acknowledged.count))
        if reopened.recovery.tornTail != nil { #expect(reopened.recovery.savedTo != nil) }
        try await reopened.close(discard: false)
    }

    @Test func bitFlipsAndZeroedSectorsOnReadAreDetected() async throws {
        let directory = TemporaryJournalDirectory()
        let path = directory.file("flip.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "flip", options: options(.written), logger: silent)
        for i in 0..<10 { try await writer.append(Array("event number \(i)".utf8)) }
        try await writer.close(discard: false)
        let faults = FileFaults(under: directory.path)
        faults.flipBits(in: path, at: 90, mask: 0x10)
        faults.install()
        defer { faults.uninstall() }
        #expect(throws: JournalError.self) {
            let reader = try JournalReader(path: path)
            while try reader.nextFrame() != nil {}
        }
        let zeroed = FileFaults(under: directory.path)
        faults.uninstall()
        zeroed.zeroSector(in: path, range: 0..<16)
        zeroed.install()
        defer { zeroed.uninstall() }
        #expect(throws: JournalError.self) { _ = try JournalReader(path: path) }
    }

    /// Simulated power loss at `.synced`: whatever was not synced is dropped (and the last
    /// write torn); every acknowledged message survives.
    @Test(arguments: [3, 17, 41, 64])
    func powerLossKeepsEveryAcknowledgedSyncedMessage(cutAfter: Int) async throws {
        let directory = TemporaryJournalDirectory()
        let path = directory.file("power.journal")
        let faults = FileFaults(under: directory.path)
        faults.install()
        var perFile = options(.synced)
        perFile.syncMethod = .perFile  // no sync round shared with other tests' journals
        let writer = try await JournalWriter.open(path: path, processID: "power", options: perFile, logger: silent)
        var acknowledged: [UInt64: [UInt8]] = [:]
        try await withThrowingTaskGroup(of: (UInt64, [UInt8])?.self) { group in
            for sender in 0..<4 {
                group.addTask {
                    for i in 0..<(cutAfter / 4 + 1) {
                        let bytes = Array("s\(sender)-\(i)".utf8)
                        let sequence = try await writer.append(bytes)
                        if sequence >= UInt64(cutAfter) { return (sequence, bytes) }
                    }
                    return nil
                }
            }
            for try await _ in group {}
        }
        // What was acknowledged: read it back before the cut (all synced by now).
        let before = try JournalReader(path: path)
        while let frame = try before.nextFrame() { for m in frame.messages { acknowledged[m.sequence] = m.bytes } }
        // One more append is written, but its sync fails: never acknowledged, never durable.
        faults.failSyncs(errno: .ioError)
        await #expect(throws: JournalError.self) { try await writer.append(Array("unacknowledged".utf8)) }
        await writer.abandon()
        try faults.cutPower(tearLastWrite: true)
        faults.uninstall()
        let reopened = try await JournalWriter.open(
            path: directory.file("power.journal"), processID: "power", options: options(.synced), logger: silent)
        try await reopened.close(discard: false)
        let after = try JournalReader(path: path)
        var survived: [UInt64: [UInt8]] = [:]
        while let frame = try after.nextFrame() { for m in frame.messages { survived[m.sequence] = m.bytes } }
        for (sequence, bytes) in acknowledged {
            #expect(survived[sequence] == bytes, "acknowledged \(sequence) lost by the power cut")
        }
        #expect(
            !survived.values.contains(Array("unacknowledged".utf8)), "the cut dropped the write that was never synced")
    }
}
