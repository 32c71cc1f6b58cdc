import Foundation
import Logging
import StateJournal
import StateJournalStorage
import StateJournalTesting
import Testing

/// One `pwrite` carries several frames (a time mark, a batch, a synced watermark). After a power
/// cut the sectors of an unsynced write persist in any order, so its first bytes can be lost
/// while later frames of it survive. Recovery tells that (damage in bytes never synced: cut as a
/// torn tail, nothing acknowledged lost) from damage to synced data (an error, as before).
@Suite(.timeLimit(.minutes(2))) struct TornWriteTests {
    /// A `.synced` journal whose last write was made but never synced, as a power cut finds it:
    /// (the file's bytes, the offsets where each write starts, the messages acknowledged).
    static func journalWithAnUnsyncedLastWrite() async throws -> (
        bytes: [UInt8], writes: [Int], acknowledged: [[UInt8]]
    ) {
        let directory = TemporaryJournalDirectory("torn-write")
        let path = directory.file("w.journal")
        var options = JournalOptions(durability: .synced, syncMethod: .perFile, idleTimeout: nil)
        options.timeMarkInterval = .nanoseconds(1)  // every write starts with a time mark
        let writer = try await JournalWriter.open(path: path, processID: "w", options: options, logger: silent)
        var acknowledged: [[UInt8]] = []
        for i in 0..<6 {
            let message = Array("synced message \(i)".utf8)
            _ = try await writer.append(message)
            acknowledged.append(message)
        }
        let faults = FileFaults(under: directory.path)
        faults.install()
        faults.holdSyncs()
        let pending = Task { try await writer.append(Array("never synced".utf8)) }
        while faults.heldSyncs == 0 { await Task.yield() }
        let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        faults.releaseSyncs()
        _ = try await pending.value
        faults.uninstall()
        try await writer.close(discard: true)
        // Each write starts with its time mark.
        let copy = directory.file("copy.journal")
        _ = FileManager.default.createFile(atPath: copy, contents: Data(bytes))
        let reader = try JournalReader(path: copy)
        var writes: [Int] = []
        while let frame = try reader.nextFrame() {
            if frame.timeMarkNanoseconds != nil { writes.append(Int(frame.offset)) }
        }
        return (bytes, writes, acknowledged)
    }

    static func open(_ bytes: [UInt8]) async throws -> (report: RecoveryReport, messages: [[UInt8]]) {
        let directory = TemporaryJournalDirectory("torn-write-open")
        let path = directory.file("w.journal")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let writer = try await JournalWriter.open(
            path: path, processID: "w", options: JournalOptions(idleTimeout: nil), logger: silent)
        let report = writer.recovery
        try await writer.close(discard: false)
        let reader = try JournalReader(path: path)
        var messages: [[UInt8]] = []
        while let frame = try reader.nextFrame() { messages += frame.messages.map(\.bytes) }
        return (report, messages)
    }

    /// The measured case: the first 12 bytes of the last, unsynced write (its time mark) lost,
    /// its message frame and watermark intact. Before, strict open threw `corruptFrame` and the
    /// process could not restart without an operator.
    @Test(arguments: [12, 40, 60])
    func lostFirstBytesOfAnUnsyncedWriteAreCutAsATornTail(lost: Int) async throws {
        var (bytes, writes, acknowledged) = try await Self.journalWithAnUnsyncedLastWrite()
        let last = try #require(writes.last)
        for i in last..<min(bytes.count, last + lost) { bytes[i] = 0 }
        let (report, messages) = try await Self.open(bytes)
        #expect(messages == acknowledged, "every synced message, nothing after the damage")
        #expect(report.tornTail?.offset == Int64(last), "\(String(describing: report.tornTail))")
        #expect(report.savedTo != nil, "the cut bytes are kept aside")
    }

    /// The same damage in a write that was synced (later writes say so): an error, nothing cut.
    @Test func damageToASyncedWriteIsStillAnError() async throws {
        var (bytes, writes, _) = try await Self.journalWithAnUnsyncedLastWrite()
        let synced = writes[writes.count - 3]
        for i in synced..<(synced + 12) { bytes[i] = 0 }
        await #expect(throws: JournalError.self) { _ = try await Self.open(bytes) }
    }
}
