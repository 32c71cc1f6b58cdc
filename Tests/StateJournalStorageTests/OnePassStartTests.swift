import Foundation
import Testing

@testable import StateJournalStorage

/// A start decompresses the journal once: recovery checks the frames' structure (salted CRC,
/// fields, sequence numbers, the damage rules), the replay checks the payloads.
@Suite struct OnePassStartTests {
    /// A journal of three messages whose last frame's payload CRC is wrong, its frame CRC
    /// re-sealed (written that way: a codec defect). Returns the path and that frame's offset.
    static func journalWithADefectivePayload(in directory: TemporaryDirectory) async throws -> (String, Int) {
        let path = directory.path + "/defect.journal"
        let writer = try await JournalWriter.open(
            path: path, processID: "defect", options: JournalOptions(idleTimeout: nil), logger: testLogger)
        for i in 0..<3 { _ = try await writer.append(Array("message \(i)".utf8)) }
        try await writer.close(discard: false)
        var bytes = fileBytes(path)
        let header = try JournalReader(path: path).header
        // The last frame: a messages frame of one message; flip its payload CRC, re-seal its frame CRC.
        var offset = Int(header.headerLength)
        var last = offset
        while offset < bytes.count {
            last = offset
            offset += Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
        }
        bytes[last + 28] ^= 0xFF
        let length = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: last, as: UInt32.self) })
        let sealed = CRC32C.checksum(
            bytes[(last + 8)..<(last + length)],
            seed: CRC32C.checksum(bytes[last..<(last + 4)], seed: header.frameSeed))
        withUnsafeBytes(of: sealed.littleEndian) { for i in 0..<4 { bytes[last + 4 + i] = $0[i] } }
        writeBytes(bytes, to: path)
        return (path, last)
    }

    /// A frame whose stored bytes pass the salted CRC but whose payload CRC is wrong is still
    /// refused — by the replay, with its offset and sequence.
    @Test func aPayloadThatFailsItsChecksumIsStillCorruption() async throws {
        let directory = TemporaryDirectory()
        let (path, last) = try await Self.journalWithADefectivePayload(in: directory)
        let reopened = try await JournalWriter.open(
            path: path, processID: "defect", options: JournalOptions(idleTimeout: nil), logger: testLogger)
        #expect(reopened.recovery.messagesToReplay == 3)
        do {
            for try await _ in reopened.replay() {}
            Issue.record("the replay read a payload that fails its checksum")
        } catch {
            #expect(error.code == .corruptFrame, "\(error)")
            #expect(error.offset == Int64(last))
            #expect(error.sequence == 3)
        }
        try await reopened.close(discard: false)
    }

    /// Point-in-time recovery still finds the defective payload at open and keeps the prefix
    /// before it (with payloads skipped at open too, the process could never start).
    @Test func pointInTimeRecoveryCutsBeforeADefectivePayload() async throws {
        let directory = TemporaryDirectory()
        let (path, last) = try await Self.journalWithADefectivePayload(in: directory)
        var options = JournalOptions(idleTimeout: nil)
        options.recovery = .pointInTime
        let reopened = try await JournalWriter.open(
            path: path, processID: "defect", options: options, logger: testLogger)
        #expect(reopened.recovery.pointInTimeCut?.offset == Int64(last))
        var sequences: [UInt64] = []
        for try await element in reopened.replay() {
            if case .messages(let messages) = element { sequences += messages.map(\.sequence) }
        }
        #expect(sequences == [1, 2])
        try await reopened.close(discard: false)
    }
}
