import Foundation
import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem
import Testing

@testable import StateJournalStorage

/// A later minor version may carry header fields this reader does not know (up to 4 KiB after
/// the process id): it reads the header length the file declares and skips them. Before, a
/// header longer than the 1,084 bytes read up front was refused as `truncatedHeader`.
@Suite struct MinorVersionHeaderTests {
    @Test(arguments: [100, 4092])  // 4092: the longest header allowed, 5,176 bytes
    func aLaterMinorVersionWithFutureHeaderFieldsIsRead(extra: Int) async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/future.journal"
        let id = String(repeating: "p", count: JournalFormat.maxProcessIDLength)
        let writer = try await JournalWriter.open(
            path: path, processID: id, options: JournalOptions(idleTimeout: nil), logger: testLogger)
        for i in 0..<50 { _ = try await writer.append(Array("message \(i)".utf8)) }
        try await writer.close(discard: false)
        let original = try readAll(path).messages

        var bytes = fileBytes(path)
        let length = Int(bytes.withUnsafeBytes { $0.loadLE(UInt32.self, at: 12) })
        var header = Array(bytes[0..<(length - 4)]) + [UInt8](repeating: 0xA5, count: extra)
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(JournalFormat.minorVersion + 1).littleEndian, toByteOffset: 10, as: UInt16.self)
            raw.storeBytes(of: UInt32(length + extra).littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        let crc = header.withUnsafeBytes { CRC32C.checksum($0) }
        header.appendLE(crc)
        bytes = header + Array(bytes[length...])
        writeBytes(bytes, to: path)

        let (messages, end) = try readAll(path)
        #expect(messages == original)
        #expect(end == .clean)
    }
}
