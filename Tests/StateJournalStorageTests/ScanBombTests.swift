import Foundation
import Testing

@testable import StateJournalStorage

/// The scan for a valid frame after damage is bounded: a file crafted with a plausible frame
/// header every 16 bytes (each claiming 4 MiB) after one bad frame is classified at once as
/// damage. Before, each candidate was read and checksummed to its full length: about 1 TB of
/// checksums for this 8 MiB file (the suite's time limit fails it on the old code, which had
/// not finished after 150 s; the fixed code takes well under a second).
@Suite(.timeLimit(.minutes(3))) struct ScanBombTests {
    @Test func plausibleHeaderSpamAfterDamageIsBoundedDamage() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/bomb.journal"
        let writer = try await JournalWriter.open(
            path: path, processID: "bomb", options: JournalOptions(idleTimeout: nil), logger: testLogger)
        for i in 0..<20 { _ = try await writer.append(Array("message \(i)".utf8)) }
        try await writer.close(discard: false)
        var bytes = fileBytes(path)
        let good = bytes.count
        // One bad frame: a header whose checksum is wrong.
        var bad = [UInt8](repeating: 0, count: 64)
        bad.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(64).littleEndian, toByteOffset: 0, as: UInt32.self) }
        bad[8] = 1
        bytes += bad
        // Then 8 MiB of 16-byte periods, each a plausible header: length 4 MiB, type messages,
        // reserved zero, and a first sequence (the next period's length) that is in range.
        var period = [UInt8](repeating: 0, count: 16)
        period.withUnsafeMutableBytes {
            $0.storeBytes(of: UInt32(4 << 20).littleEndian, toByteOffset: 0, as: UInt32.self)
        }
        period[8] = 1
        period[12] = 1
        var spam = [UInt8](repeating: 0, count: 8 << 20)
        spam.withUnsafeMutableBytes { raw in
            for offset in stride(from: 0, to: raw.count, by: 16) {
                raw.baseAddress!.advanced(by: offset).copyMemory(from: period, byteCount: 16)
            }
        }
        bytes += spam
        writeBytes(bytes, to: path)

        let reader = try JournalReader(path: path)
        var messages = 0
        do {
            while let frame = try reader.nextFrame() { messages += frame.messages.count }
            Issue.record("the damage was read as \(String(describing: reader.end))")
        } catch {
            #expect(error.code == .corruptFrame, "\(error)")
            #expect(error.offset == Int64(good))
            #expect(error.message.contains("gave up"), "\(error.message)")
        }
        #expect(messages == 20)
    }
}
