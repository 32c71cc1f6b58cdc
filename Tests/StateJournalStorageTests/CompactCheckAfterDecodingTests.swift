import StateJournalEncoding
import Testing

/// `CompactDecoder` decodes an object first and checks after only what its reads did not check.
/// Whatever the type reads or ignores, a value comes back only from bytes that hold exactly one
/// well-formed value: checked against a reading of the grammar in docs/FORMAT.md written here,
/// which shares no code with the decoder.
@Suite struct CompactCheckAfterDecodingTests {
    struct Inner: Codable, Equatable {
        var tags: [String]
        var weight: Double?
    }

    /// Reads every key in order.
    struct Full: Codable, Equatable {
        var id: Int64
        var name: String
        var inner: Inner
        var scores: [String: Int]
        var note: String?

        enum CodingKeys: String, CodingKey { case id, name, inner, scores, note }
    }

    /// Reads one key of `Full`'s objects, from the middle: the others are never read.
    struct OnlyName: Codable, Equatable {
        var name: String
    }

    /// Reads `Full`'s keys out of their order.
    struct Backwards: Codable, Equatable {
        var note: String?
        var inner: Inner
        var id: Int64

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Full.CodingKeys.self)
            note = try container.decodeIfPresent(String.self, forKey: .note)
            inner = try container.decode(Inner.self, forKey: .inner)
            id = try container.decode(Int64.self, forKey: .id)
        }
    }

    enum Command: Codable, Equatable {
        case rename(to: String)
        case move(x: Int, y: Int, label: String?)
    }

    static let full = Full(
        id: -7, name: "kettle", inner: Inner(tags: ["a", "βγ", ""], weight: 1.5), scores: ["x": 1, "y": -300],
        note: "fragile")

    // MARK: the reference reading

    enum Verdict: Equatable {
        case wellFormed
        case malformed
        /// A first-encoding object somewhere: the decoder may upgrade the value, not compared here.
        case firstEncoding
    }

    /// One value per docs/FORMAT.md, "Message encoding": tags, shortest LEB128 varints, strings,
    /// arrays ended by 0x0A, objects of (LEB128(key length + 1), key, value) entries ended by
    /// 0x00, nesting no deeper than 128, nothing after the value.
    static func reference(_ bytes: [UInt8]) -> Verdict {
        var position = 0
        enum Stop: Error { case malformed, firstEncoding }

        func byte() throws -> UInt8 {
            guard position < bytes.count else { throw Stop.malformed }
            position += 1
            return bytes[position - 1]
        }
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<10 {
                let b = try byte()
                if index > 0 && b == 0 { throw Stop.malformed }  // not the shortest form
                if index == 9 && b > 1 { throw Stop.malformed }  // over 64 bits
                value |= UInt64(b & 0x7F) << UInt64(7 * index)
                if b < 0x80 { return value }
            }
            throw Stop.malformed
        }
        func take(_ count: UInt64) throws {
            guard count <= UInt64(bytes.count - position) else { throw Stop.malformed }
            position += Int(count)
        }
        func value(depth: Int) throws {
            guard depth <= 128 else { throw Stop.malformed }
            let tag = try byte()
            switch tag {
            case 0x80...0xFF, 0x00, 0x01, 0x02: return
            case 0x03, 0x04: _ = try varint()
            case 0x05: try take(8)
            case 0x06: try take(4)
            case 0x07: try take(try varint())
            case 0x08:
                while true {
                    guard position < bytes.count else { throw Stop.malformed }
                    if bytes[position] == 0x0A {
                        position += 1
                        return
                    }
                    try value(depth: depth + 1)
                }
            case 0x0B:
                while true {
                    let prefix = try varint()
                    if prefix == 0 { return }
                    try take(prefix - 1)
                    try value(depth: depth + 1)
                }
            case 0x09: throw Stop.firstEncoding
            default: throw Stop.malformed
            }
        }
        do {
            try value(depth: 0)
            return position == bytes.count ? .wellFormed : .malformed
        } catch Stop.firstEncoding {
            return .firstEncoding
        } catch {
            return .malformed
        }
    }

    /// Decodes `bytes` as `T`: when a value comes back, the bytes must be well formed.
    static func expectOnlyWellFormedDecode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) {
        guard (try? CompactDecoder().decode(type, from: bytes)) != nil else { return }
        let verdict = reference(bytes)
        #expect(verdict != .malformed, "\(T.self) decoded from malformed bytes \(bytes)")
    }

    // MARK: tests

    @Test func theReferenceAcceptsWhatTheEncoderWrites() throws {
        #expect(Self.reference(try CompactEncoder().encode(Self.full)) == .wellFormed)
        #expect(Self.reference(try CompactEncoder().encode(Command.move(x: 1, y: -2, label: nil))) == .wellFormed)
    }

    @Test func aFullyReadObjectWithBytesAfterItIsRefused() throws {
        let good = try CompactEncoder().encode(Self.full)
        #expect(try CompactDecoder().decode(Full.self, from: good) == Self.full)
        for extra in [[0x00], [0x80], [0x0B, 0x00], good] as [[UInt8]] {
            #expect(throws: DecodingError.self) { try CompactDecoder().decode(Full.self, from: good + extra) }
            #expect(throws: DecodingError.self) { try CompactDecoder().decode(OnlyName.self, from: good + extra) }
            #expect(throws: DecodingError.self) { try CompactDecoder().decode(Backwards.self, from: good + extra) }
        }
    }

    @Test func damageWhereTheTypeDoesNotReadIsRefused() throws {
        let good = try CompactEncoder().encode(Self.full)
        #expect(try CompactDecoder().decode(OnlyName.self, from: good) == OnlyName(name: "kettle"))
        // The last entry ("note") is never read by `OnlyName`: cut inside it, or damage its tag.
        let noteValue = good.count - 1 - 1 - 1 - "fragile".utf8.count
        #expect(good[noteValue] == 0x07)
        for cut in noteValue..<good.count {
            #expect(throws: DecodingError.self) {
                try CompactDecoder().decode(OnlyName.self, from: Array(good[..<cut]))
            }
        }
        var unknownTag = good
        unknownTag[noteValue] = 0x0C
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(OnlyName.self, from: unknownTag) }
        // The first entry ("id") is never read either: damage before what is read.
        var badFirst = good
        #expect(badFirst[1] == 3 && badFirst[2...3] == [0x69, 0x64])
        badFirst[4] = 0x0C
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(OnlyName.self, from: badFirst) }
    }

    @Test func nestingTooDeepWhereTheTypeDoesNotReadIsRefused() throws {
        // {"name": "n", "deep": [[[…]]] 200 deep}
        var bytes: [UInt8] = [0x0B, 5] + Array("name".utf8) + [0x07, 1, 0x6E]
        bytes += [5] + Array("deep".utf8)
        bytes += [UInt8](repeating: 0x08, count: 200) + [UInt8](repeating: 0x0A, count: 200) + [0x00]
        #expect(Self.reference(bytes) == .malformed)
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(OnlyName.self, from: bytes) }
        // 120 deep is within bounds: the same object decodes.
        var shallow: [UInt8] = [0x0B, 5] + Array("name".utf8) + [0x07, 1, 0x6E]
        shallow += [5] + Array("deep".utf8)
        shallow += [UInt8](repeating: 0x08, count: 120) + [UInt8](repeating: 0x0A, count: 120) + [0x00]
        #expect(Self.reference(shallow) == .wellFormed)
        #expect(try CompactDecoder().decode(OnlyName.self, from: shallow) == OnlyName(name: "n"))
    }

    @Test func anEnumWithBytesAfterItOrACutIsRefused() throws {
        let good = try CompactEncoder().encode(Command.move(x: 3, y: 4, label: "here"))
        #expect(try CompactDecoder().decode(Command.self, from: good) == .move(x: 3, y: 4, label: "here"))
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Command.self, from: good + [0x00]) }
        for cut in 0..<good.count {
            #expect(throws: DecodingError.self) { try CompactDecoder().decode(Command.self, from: Array(good[..<cut])) }
        }
    }

    /// Random damage (flipped, replaced, inserted, removed and appended bytes) to objects that
    /// types read whole, in part, out of order, and as enums: a value only from well-formed bytes.
    @Test func randomDamageNeverDecodesFromMalformedBytes() throws {
        var generator = SeededGenerator(seed: 0x5EED_C0DE)
        let commands: [Command] = [
            .rename(to: "x"), .move(x: -1, y: 1 << 40, label: nil), .move(x: 0, y: 0, label: "ü"),
        ]
        let samples = [try CompactEncoder().encode(Self.full)] + (try commands.map { try CompactEncoder().encode($0) })
        var decoded = 0
        for round in 0..<6000 {
            var bytes = samples[round % samples.count]
            for _ in 0...(generator.next() % 3) {
                let at = Int(generator.next() % UInt64(bytes.count))
                let byte = UInt8(truncatingIfNeeded: generator.next())
                switch generator.next() % 5 {
                case 0: bytes[at] ^= 1 << UInt8(generator.next() % 8)
                case 1: bytes[at] = byte
                case 2: bytes.insert(byte, at: at)
                case 3: if bytes.count > 1 { bytes.remove(at: at) }
                default: bytes.append(byte)
                }
            }
            Self.expectOnlyWellFormedDecode(Full.self, bytes)
            Self.expectOnlyWellFormedDecode(OnlyName.self, bytes)
            Self.expectOnlyWellFormedDecode(Backwards.self, bytes)
            Self.expectOnlyWellFormedDecode(Command.self, bytes)
            if (try? CompactDecoder().decode(OnlyName.self, from: bytes)) != nil { decoded += 1 }
        }
        // Some damage leaves a value that still decodes (a changed letter): the check ran on it.
        #expect(decoded > 100)
    }
}

/// `allKeys` cannot throw, and left out a key that is not UTF-8: a dictionary decoded from a
/// damaged value came back without the entry, and no error said so.
@Suite struct CompactUnreadableKeyTests {
    /// `["apple": 1, "pear": 2]` with the byte `0xFF` in place of the "p" of "pear".
    static func damagedDictionary() throws -> [UInt8] {
        var bytes = try CompactEncoder().encode(["apple": 1, "pear": 2])
        let pear = try #require(
            bytes.indices.first { Array(bytes[$0..<min($0 + 4, bytes.count)]) == Array("pear".utf8) })
        bytes[pear] = 0xFF
        return bytes
    }

    @Test func aDictionaryWithAKeyThatIsNotUTF8IsAnErrorNotAnEntryLess() throws {
        let bytes = try Self.damagedDictionary()
        #expect(throws: DecodingError.self) { try CompactDecoder().decode([String: Int].self, from: bytes) }
        // Inside an object, at any depth, the same.
        struct Basket: Codable { var fruit: [String: Int] }
        let basket = [CompactTag.objectStart, 6] + Array("fruit".utf8) + bytes + [CompactTag.objectEnd]
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Basket.self, from: basket) }
        #expect(throws: DecodingError.self) {
            try CompactDecoder().decode([[String: Int]].self, from: [CompactTag.arrayStart] + bytes + [CompactTag.end])
        }
    }

    @Test func anEnumWhoseCaseKeyIsNotUTF8IsAnError() throws {
        enum Command: Codable { case stop(reason: String) }
        var bytes = try CompactEncoder().encode(Command.stop(reason: "done"))
        #expect(bytes[2...5] == Array("stop".utf8)[...])
        bytes[2] = 0xFF
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Command.self, from: bytes) }
    }
}
