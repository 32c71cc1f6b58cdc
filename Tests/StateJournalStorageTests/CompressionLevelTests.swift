import Foundation
import StateJournalEncoding
import StateJournalStorage
import Testing

/// Every compression level writes what docs/FORMAT.md describes: frames whose compressed
/// payloads are LZ4 blocks linked in chains. Checked twice: by the project's reader, and by a
/// reading of the format written here from FORMAT.md and LZ4's block format, sharing no code
/// with the writer, the reader or liblz4.
@Suite struct CompressionLevelTests {
    static let levels: [CompressionLevel] = [.fast, .high, .high(level: 6), .high(level: 12)]

    @Test(arguments: levels)
    func everyLevelWritesBlocksThatTheFormatsReadingDecodes(level: CompressionLevel) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.journal")
        var generator = SeededGenerator(seed: 0xC0DE_1E7E1)
        let writer = try await JournalWriter.open(
            path: path, processID: "p", options: .testing(level: level), logger: testLogger)
        var expected: [[UInt8]] = []
        // Small events (the chain's usual case), and sizes around the encoder's 16 KiB room and
        // 64 KiB window, and past them (compressed in place, then the window saved).
        let sizes = [0, 1, 16_383, 16_384, 16_385, 65_535, 65_536, 65_537, 300_000, 1 << 20]
        for round in 0..<120 {
            var batch: [[UInt8]] = []
            for index in 0..<(1 + Int(generator.next() % 12)) {
                switch generator.next() % 10 {
                case 0:
                    let size = sizes[Int(generator.next() % UInt64(sizes.count))]
                    let event = sampleEvent(round * 100 + index, using: &generator)
                    batch.append((0..<size).map { event[$0 % event.count] })
                case 1:
                    batch.append(
                        (0..<Int(generator.next() % 400)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                default:
                    batch.append(sampleEvent(round * 100 + index, using: &generator))
                }
            }
            if round % 10 == 5 {
                // A batch that does not shrink: stored raw, it ends the chain; the next starts one.
                batch = [(0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }]
            }
            try await writer.append(contentsOf: batch)
            expected.append(contentsOf: batch)
        }
        try await writer.close(discard: false)

        #expect(try readAll(path).messages.map(\.bytes) == expected)
        let read = try FormatReading(fileBytes(path))
        #expect(read.messages == expected)
        #expect(read.compressedFrames > 100)
        #expect(read.chainStarts >= 13)
    }

    @Test func aJournalWrittenAtSeveralLevelsReadsBack() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.journal")
        var generator = SeededGenerator(seed: 0x1E7E1)
        var expected: [[UInt8]] = []
        for level in [CompressionLevel.fast, .high, .high(level: 12), .fast, .high(level: 4)] {
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(level: level), logger: testLogger)
            for _ in 0..<200 {
                let event = sampleEvent(expected.count, using: &generator)
                try await writer.append(event)
                expected.append(event)
            }
            try await writer.close(discard: false)
        }
        #expect(try readAll(path).messages.map(\.bytes) == expected)
        let read = try FormatReading(fileBytes(path))
        #expect(read.messages == expected)
        #expect(read.chainStarts == 5)
    }

    @Test func theHighLevelStoresFewerBytes() async throws {
        let directory = TemporaryDirectory()
        var sizes: [Int] = []
        for level in [CompressionLevel.fast, .high] {
            let path = directory.file("\(level).journal")
            var generator = SeededGenerator(seed: 7)
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(level: level), logger: testLogger)
            for index in 0..<2_000 { try await writer.append(sampleEvent(index, using: &generator)) }
            try await writer.close(discard: false)
            sizes.append(fileBytes(path).count)
        }
        // Measured: 80.5 B per 131-byte event at .fast, 68.9 B at .high (storage bench).
        #expect(Double(sizes[1]) < 0.95 * Double(sizes[0]), "\(sizes)")
    }

    @Test func levelsAreClampedToLZ4HCsRange() {
        #expect(CompressionLevel.fast.lz4Level == 0)
        #expect(CompressionLevel.high.lz4Level == 2)
        #expect(CompressionLevel.high(level: -3) == .high)
        #expect(CompressionLevel.high(level: 99).lz4Level == 12)
        #expect(CompressionLevel.high(level: 9).description == "high(level: 9)")
    }
}

/// Small messages one per frame, that do not shrink alone but repeat each other (the compact
/// encoding of a chat post, 60–90 bytes): the first frame of a chain is kept compressed, so the
/// frames after it compress against it. Before, it was stored raw, which ended the chain, so the
/// next frame started one with no history, did not shrink either, and so on: every frame raw.
@Suite struct ChainSeedingTests {
    enum Chat: Codable {
        case post(user: String, room: String, text: String, ts: Int64)
    }

    /// A chat post as the runtime bench sends them: distinct words, so it has nothing to repeat
    /// within itself.
    static func post(_ index: Int, using generator: inout SeededGenerator) throws -> [UInt8] {
        let words = ["hello", "world", "state", "journal", "replay", "crash", "swift", "actor", "batch", "soon"]
        let first = Int(generator.next() % 10)
        let text = (0..<(2 + index % 4)).map { words[(first + $0 * 3) % 10] }.joined(separator: " ")
        return try CompactEncoder().encode(
            Chat.post(
                user: "user-\(generator.next() % 10_000)", room: "room-\(generator.next() % 300)", text: text,
                ts: 1_763_700_000_000 + Int64(index) * 41))
    }

    @Test(arguments: [CompressionLevel.fast, .high])
    func smallMessagesOnePerFrameCompressAgainstTheChain(level: CompressionLevel) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.journal")
        var generator = SeededGenerator(seed: 83)
        let writer = try await JournalWriter.open(
            path: path, processID: "p", options: .testing(level: level), logger: testLogger)
        var expected: [[UInt8]] = []
        for index in 0..<500 {
            let message = try Self.post(index, using: &generator)
            try await writer.append(message)
            expected.append(message)
        }
        try await writer.close(discard: false)
        // Small messages (the old writer stored every one of these frames raw: 0 of 500 compressed).
        #expect(expected.allSatisfy { $0.count < 100 })

        let read = try FormatReading(fileBytes(path))
        #expect(read.messages == expected)
        #expect(try readAll(path).messages.map(\.bytes) == expected)
        #expect(read.chainStarts == 1)
        #expect(read.compressedFrames == 500)
        // Every frame but the first shrinks: the payloads take at most two thirds of their raw size.
        let raw = expected.reduce(0) { $0 + $1.count + 1 }
        #expect(Double(read.storedPayloadBytes) < 0.67 * Double(raw), "\(read.storedPayloadBytes) of \(raw)")
    }

    /// The golden journal of such a chain reads back, with its first block larger than its payload.
    @Test func theSeededChainFixtureIsWhatItSays() throws {
        let path = fixturesDirectory + "/seeded-chain.journal"
        let read = try FormatReading(fileBytes(path))
        let expected = (0..<8).map { i in Array("p\(i):user-\(100 + i * 37),room-\(i % 3)".utf8) }
        #expect(read.messages == expected)
        #expect(try readAll(path).messages.map(\.bytes) == expected)
        #expect(read.chainStarts == 1)
        #expect(read.compressedFrames == 8)
        #expect(read.firstStoredPayload > expected[0].count + 1)
        #expect(read.storedPayloadBytes < expected.reduce(0) { $0 + $1.count + 1 })
    }

    /// Incompressible messages one per frame: a chain's first frame is kept compressed (a few
    /// bytes more), the next does not shrink against it and is stored raw, ending the chain.
    @Test func incompressibleMessagesCostAFewBytesEverySecondFrame() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.journal")
        var generator = SeededGenerator(seed: 5)
        let writer = try await JournalWriter.open(
            path: path, processID: "p", options: .testing(.written), logger: testLogger)
        var expected: [[UInt8]] = []
        for _ in 0..<100 {
            let message = (0..<80).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try await writer.append(message)
            expected.append(message)
        }
        try await writer.close(discard: false)
        let read = try FormatReading(fileBytes(path))
        #expect(read.messages == expected)
        #expect(read.compressedFrames == 50)
        #expect(read.storedPayloadBytes <= expected.count * 81 + 50 * 2)
    }
}

/// A journal file read as docs/FORMAT.md describes it, with LZ4 blocks decoded as LZ4's block
/// format describes them (sequences of a token, literals, a 2-byte offset, a match length),
/// against the previous 64 KiB of the chain's decompressed payloads.
private struct FormatReading {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    var messages: [[UInt8]] = []
    var compressedFrames = 0
    var chainStarts = 0
    var storedPayloadBytes = 0
    /// The stored size of the first message frame's payload.
    var firstStoredPayload = -1

    init(_ file: [UInt8]) throws {
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(file[at + $1]) << (8 * $1) } }
        guard file.count >= 60 else { throw Malformed(description: "no header") }
        var offset = u32(12)
        // The chain's decompressed payloads so far; nil when no chain is open.
        var chain: [UInt8]?
        while offset < file.count {
            let length = u32(offset)
            guard length >= 32, offset + length <= file.count else {
                throw Malformed(description: "frame at \(offset) of length \(length)")
            }
            let type = file[offset + 8]
            let flags = file[offset + 9]
            let count = u32(offset + 12)
            let rawLength = u32(offset + 24)
            let stored = Array(file[(offset + 32)..<(offset + length)])
            offset += length
            guard type == 1 else { continue }
            storedPayloadBytes += stored.count
            if firstStoredPayload < 0 { firstStoredPayload = stored.count }
            var payload: [UInt8]
            if flags & 1 != 0 {
                compressedFrames += 1
                if flags & 2 != 0 {
                    chain = []
                    chainStarts += 1
                }
                guard var history = chain else { throw Malformed(description: "a chained frame with no chain open") }
                if history.count > 65_536 { history.removeFirst(history.count - 65_536) }
                let start = history.count
                try Self.decodeBlock(stored, appendingTo: &history)
                payload = Array(history[start...])
                chain = history
            } else {
                payload = stored
                chain = nil
            }
            guard payload.count == rawLength else {
                throw Malformed(description: "payload of \(payload.count) bytes, header says \(rawLength)")
            }
            var position = 0
            for _ in 0..<count {
                var size = 0
                var shift = 0
                while true {
                    let byte = payload[position]
                    position += 1
                    size |= Int(byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80 { break }
                }
                messages.append(Array(payload[position..<(position + size)]))
                position += size
            }
            guard position == payload.count else { throw Malformed(description: "lengths do not fill the payload") }
        }
    }

    /// Decodes one LZ4 block, appending to `output`, whose bytes are the block's dictionary.
    static func decodeBlock(_ input: [UInt8], appendingTo output: inout [UInt8]) throws {
        var i = 0
        func byte() throws -> Int {
            guard i < input.count else { throw Malformed(description: "block ends inside a sequence") }
            defer { i += 1 }
            return Int(input[i])
        }
        func extended(_ base: Int) throws -> Int {
            guard base == 15 else { return base }
            var total = base
            while true {
                let next = try byte()
                total += next
                if next != 255 { return total }
            }
        }
        while true {
            let token = try byte()
            let literals = try extended(token >> 4)
            guard i + literals <= input.count else { throw Malformed(description: "literals past the block") }
            output.append(contentsOf: input[i..<(i + literals)])
            i += literals
            if i == input.count { return }  // the last sequence holds literals only
            let distance = try byte() | (try byte() << 8)
            guard distance > 0, distance <= output.count else {
                throw Malformed(description: "match \(distance) back, \(output.count) bytes of history")
            }
            let matchLength = try extended(token & 15) + 4
            let from = output.count - distance
            for k in 0..<matchLength { output.append(output[from + k]) }  // may overlap what it writes
        }
    }
}
