import Foundation
import StateJournalEncoding
import StateJournalStorage
import Testing

struct Address: Codable, Equatable {
    var street: String
    var zip: String?
}

enum Event: Codable, Equatable {
    case joined(user: String, at: Int64)
    case posted(user: String, text: String, tags: [String])
    case left(String)
    case cleared
}

struct Sample: Codable, Equatable {
    var id: Int
    var name: String
    var active: Bool
    var score: Double
    var ratio: Float
    var small: Int8
    var big: UInt64
    var negative: Int
    var nickname: String?
    var address: Address
    var addresses: [Address]
    var matrix: [[Int]]
    var events: [Event]
    var counts: [String: Int]
    var empty: [Int]
    var unicode: String
}

@Suite struct CompactEncodingTests {
    static let sample = Sample(
        id: 42, name: "room-7", active: true, score: 3.25, ratio: 0.5, small: -128, big: .max, negative: .min,
        nickname: nil, address: Address(street: "Rue \"du\" Bac\n", zip: "75007"),
        addresses: [Address(street: "a", zip: nil), Address(street: "b", zip: "x")], matrix: [[1, 2], [], [300_000]],
        events: [
            .joined(user: "ana", at: -5), .posted(user: "bo", text: "hi", tags: ["a", "b"]), .left("cy"), .cleared,
        ],
        counts: ["zeta": 1, "alpha": 2, "mid": -3], empty: [], unicode: "héllo ☃ 👋")

    @Test func roundTripsEveryKindOfValue() throws {
        let bytes = try CompactEncoder().encode(Self.sample)
        #expect(try CompactDecoder().decode(Sample.self, from: bytes) == Self.sample)
    }

    @Test func topLevelPrimitivesAndCollections() throws {
        let encoder = CompactEncoder()
        let decoder = CompactDecoder()
        #expect(try decoder.decode(Int.self, from: encoder.encode(-7)) == -7)
        #expect(try decoder.decode(String.self, from: encoder.encode("")) == "")
        #expect(try decoder.decode([Int?].self, from: encoder.encode([1, nil, 3])) == [1, nil, 3])
        #expect(try decoder.decode(Double.self, from: encoder.encode(Double.infinity)) == .infinity)
        #expect(try decoder.decode(Double.self, from: encoder.encode(Double.nan)).isNaN)
        #expect(try decoder.decode([Int: String].self, from: encoder.encode([1: "a", 2: "b"])) == [1: "a", 2: "b"])
        #expect(try decoder.decode(UInt8.self, from: encoder.encode(UInt8(200))) == 200)
    }

    @Test func encodingIsDeterministic() throws {
        let first = try CompactEncoder().encode(Self.sample)
        for _ in 0..<20 {
            // A rebuilt dictionary may iterate in another order: the bytes must not change.
            var copy = Self.sample
            copy.counts = Dictionary(uniqueKeysWithValues: Self.sample.counts.shuffled())
            #expect(try CompactEncoder().encode(copy) == first)
        }
    }

    @Test func rendersAsJSONWithoutTheSwiftType() throws {
        let bytes = try CompactEncoder().encode(Address(street: "Main \"1\"", zip: nil))
        #expect(
            try CompactJSON.render(bytes) == #"{"street":"Main \"1\""}"#,
            "a nil optional is left out, as encodeIfPresent asks")
        let event = try CompactEncoder().encode(Event.posted(user: "bo", text: "hi", tags: ["x"]))
        #expect(try CompactJSON.render(event) == #"{"posted":{"user":"bo","text":"hi","tags":["x"]}}"#)
        // Every sample renders as JSON that Foundation can parse.
        let json = try CompactJSON.render(CompactEncoder().encode(Self.sample))
        #expect(try JSONSerialization.jsonObject(with: Data(json.utf8)) is [String: Any])
    }

    @Test func missingAndOptionalKeys() throws {
        struct Old: Codable { var a: Int }
        struct New: Codable, Equatable {
            var a: Int
            var b: String?
        }
        let bytes = try CompactEncoder().encode(Old(a: 1))
        #expect(try CompactDecoder().decode(New.self, from: bytes) == New(a: 1, b: nil))
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Sample.self, from: bytes) }
    }

    @Test func malformedInputIsAnErrorNeverATrap() throws {
        let good = try CompactEncoder().encode(Self.sample)
        // Every truncation and many single-byte corruptions: an error or a value, never a crash.
        for cut in 0..<good.count {
            #expect(throws: (any Error).self) { try CompactDecoder().decode(Sample.self, from: Array(good[0..<cut])) }
        }
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<2000 {
            var bad = good
            bad[Int(generator.next() % UInt64(bad.count))] = UInt8(truncatingIfNeeded: generator.next())
            _ = try? CompactDecoder().decode(Sample.self, from: bad)
            _ = try? CompactJSON.render(bad)
        }
        // Deep nesting is refused, not recursed into without bound.
        let deep =
            [UInt8](repeating: CompactTag.arrayStart, count: 10_000) + [UInt8](repeating: CompactTag.end, count: 10_000)
        #expect(throws: (any Error).self) { try CompactJSON.render(deep) }
        #expect(throws: (any Error).self) { try CompactDecoder().decode([[[[Int]]]].self, from: deep) }
        #expect(throws: (any Error).self) { try CompactDecoder().decode(Int.self, from: good) }
    }

    /// The example of docs/FORMAT.md, byte for byte: the encoding is stable.
    @Test func documentedExampleBytes() throws {
        struct Joined: Codable {
            var type: String
            var n: Int
        }
        let bytes = try CompactEncoder().encode(Joined(type: "joined", n: 5))
        #expect(
            bytes == [
                0x0B, 0x05, 0x74, 0x79, 0x70, 0x65, 0x07, 0x06, 0x6A, 0x6F, 0x69, 0x6E, 0x65, 0x64, 0x02, 0x6E, 0x85,
                0x00,
            ])
    }

    /// The first encoding's bytes of the same value (object tag 0x09, bare key lengths, 0x0A end) still read.
    @Test func firstEncodingExampleStillDecodes() throws {
        struct Joined: Codable, Equatable {
            var type: String
            var n: Int
        }
        let legacy: [UInt8] = [
            0x09, 0x04, 0x74, 0x79, 0x70, 0x65, 0x07, 0x06, 0x6A, 0x6F, 0x69, 0x6E, 0x65, 0x64, 0x01, 0x6E, 0x85, 0x0A,
        ]
        #expect(try CompactDecoder().decode(Joined.self, from: legacy) == Joined(type: "joined", n: 5))
        #expect(try CompactJSON.render(legacy) == #"{"type":"joined","n":5}"#)
        // A 10-byte key, as the first encoding wrote it: one complete reading, so it is read.
        let tenByteKey: [UInt8] = [0x09, 0x0A] + Array("0123456789".utf8) + [0x82, 0x0A]
        #expect(try CompactDecoder().decode([String: Int].self, from: tenByteKey) == ["0123456789": 2])
        #expect(
            try CompactEncoder().encode(["0123456789": 2]) == [0x0B, 0x0B] + Array("0123456789".utf8) + [0x82, 0x00])
    }

    /// A first-encoding value with two complete readings is refused, naming where they part; nothing is guessed.
    @Test func anAmbiguousFirstEncodingValueIsRefused() throws {
        // {"a": {"\u{6}abcdef\u{8}\u{1}\u{2}": 1}} or {"a": {}, "abcdef": [false, true, 1]}.
        let ambiguous: [UInt8] = [
            0x09, 0x01, 0x61, 0x09, 0x0A, 0x06, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x08, 0x01, 0x02, 0x81, 0x0A, 0x0A,
        ]
        let error = try #require(throws: CompactFormatError.self) {
            try ambiguous.withUnsafeBytes { try CompactDecoder.validate($0) }
        }
        #expect(error.offset == 4)
        #expect(error.reason.contains("ambiguous"))
        #expect(throws: DecodingError.self) {
            try CompactDecoder().decode([String: [String: Int]].self, from: ambiguous)
        }
        #expect(throws: CompactFormatError.self) { try CompactJSON.render(ambiguous) }
        // Deep first-encoding nesting is refused too, without recursion.
        let deep = [UInt8](repeating: CompactTag.legacyObjectStart, count: 100_000)
        #expect(throws: CompactFormatError.self) { try deep.withUnsafeBytes { try CompactDecoder.validate($0) } }
    }

    /// A large first-encoding value (a snapshot of the first release) is read in one pass: 20,000
    /// objects, each with a 10-byte key, written here by a first-encoding writer of its own.
    @Test func aLargeFirstEncodingValueIsRead() throws {
        func varint(_ value: Int) -> [UInt8] {
            var v = value
            var out: [UInt8] = []
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            return out + [UInt8(v)]
        }
        func int(_ n: Int) -> [UInt8] { n < 128 ? [0x80 | UInt8(n)] : [0x03] + varint(n << 1) }
        func legacyObject(_ entries: [(String, [UInt8])]) -> [UInt8] {
            [0x09] + entries.flatMap { varint($0.0.utf8.count) + Array($0.0.utf8) + $0.1 } + [0x0A]
        }
        let count = 20_000
        let legacy: [UInt8] =
            [0x08] + (0..<count).flatMap { legacyObject([("id", int($0)), ("0123456789", int($0 % 100))]) } + [0x0A]
        let decoded = try CompactDecoder().decode([[String: Int]].self, from: legacy)
        #expect(decoded == (0..<count).map { ["id": $0, "0123456789": $0 % 100] })
    }

    /// A varint in a longer form than needed is refused: no second encoding of a length, so an
    /// object's end byte (0x00) has no look-alike.
    @Test func overlongVarintsAreRefused() throws {
        #expect(try CompactDecoder().decode(String.self, from: [0x07, 0x01, 0x61]) == "a")
        #expect(throws: DecodingError.self) {
            try CompactDecoder().decode(String.self, from: [0x07, 0x81, 0x00, 0x61])
        }
        #expect(throws: DecodingError.self) {
            try CompactDecoder().decode([String: Int].self, from: [0x0B, 0x80, 0x00, 0x80, 0x00])
        }
    }

    @Test func compactIsSmallerThanJSON() throws {
        let compact = try CompactEncoder().encode(Self.sample)
        let json = try JSONEncoder().encode(Self.sample)
        #expect(compact.count < json.count)
    }
}

/// Invalid UTF-8 in a string is an error, also where repairing it would give as many bytes (a
/// truncated four-byte sequence becomes one three-byte U+FFFD): the decoder never hands out a
/// string whose bytes differ from the journal's.
@Suite struct CompactStringValidityTests {
    @Test(arguments: [[0xF0, 0x9F, 0x98], [0xFF], [0xC3], [0x61, 0xED, 0xA0, 0x80], [0xE2, 0x82]] as [[UInt8]])
    func invalidUTF8IsRefused(_ run: [UInt8]) throws {
        let bytes = [CompactTag.string, UInt8(run.count)] + run
        #expect(throws: (any Error).self) { try CompactDecoder().decode(String.self, from: bytes) }
        #expect(throws: CompactFormatError.self) { try bytes.withUnsafeBytes { try CompactDecoder.validate($0) } }
        #expect(throws: (any Error).self) { try CompactJSON.render(bytes) }
    }

    /// A byte of 0x80 or more anywhere in a string — in a word of eight or in the tail — is seen:
    /// invalid UTF-8 at every place of strings of 1 to 24 bytes is refused, valid two-byte
    /// characters there come back equal (as a value and as an object's field).
    @Test func aNonASCIIByteAtAnyPlaceIsSeen() throws {
        struct Field: Codable, Equatable { var text: String }
        for length in 1...24 {
            for place in 0..<length {
                var invalid = [UInt8](repeating: 0x61, count: length)
                invalid[place] = 0xFF
                let bytes = [CompactTag.string, UInt8(length)] + invalid
                #expect(throws: (any Error).self) { try CompactDecoder().decode(String.self, from: bytes) }
                let object = [CompactTag.objectStart, 5] + Array("text".utf8) + bytes + [CompactTag.objectEnd]
                #expect(throws: (any Error).self) { try CompactDecoder().decode(Field.self, from: object) }
                let valid =
                    String(repeating: "a", count: place) + "é" + String(repeating: "a", count: length - place - 1)
                #expect(try CompactDecoder().decode(String.self, from: CompactEncoder().encode(valid)) == valid)
                #expect(
                    try CompactDecoder().decode(Field.self, from: CompactEncoder().encode(Field(text: valid))).text
                        == valid)
            }
        }
    }

    @Test func validUTF8OfEveryLengthComesBackEqual() throws {
        for text in ["", "a", "é", "€", "😀", "a😀é€z", String(repeating: "ж", count: 300)] {
            let bytes = try CompactEncoder().encode(text)
            #expect(try CompactDecoder().decode(String.self, from: bytes) == text)
        }
    }
}

/// The keyed decoder reads a value once when keys come in the order they were encoded, and
/// finds them by scanning otherwise. Every way a `Decodable` may walk an object — out of order,
/// twice, `contains` first, `decodeNil` then the value, nested values between primitives, keys
/// absent — must read what Foundation's JSON decoder reads from the same value.
@Suite struct CompactKeyedAccessTests {
    struct Wire: Codable, Equatable {
        var a: Int
        var b: String
        var c: Address
        var d: Double?
        var e: [Int]
        var f: Bool
    }

    /// Reads a `Wire` in an unusual order, with repeats and probes, into a flat description.
    struct Walker: Decodable, Equatable {
        var trace: [String] = []
        enum Key: String, CodingKey { case a, b, c, d, e, f, missing }
        init(from decoder: any Decoder) throws {
            let keyed = try decoder.container(keyedBy: Key.self)
            trace.append("f=\(try keyed.decode(Bool.self, forKey: .f))")
            trace.append("a=\(try keyed.decode(Int.self, forKey: .a))")
            trace.append("a again=\(try keyed.decode(Int.self, forKey: .a))")
            trace.append("contains b=\(keyed.contains(.b)) missing=\(keyed.contains(.missing))")
            trace.append("b=\(try keyed.decode(String.self, forKey: .b))")
            trace.append("c=\(try keyed.decode(Address.self, forKey: .c))")
            trace.append("d nil=\(keyed.contains(.d) ? String(try keyed.decodeNil(forKey: .d)) : "absent")")
            trace.append("d=\(String(describing: try keyed.decodeIfPresent(Double.self, forKey: .d)))")
            trace.append("e=\(try keyed.decode([Int].self, forKey: .e))")
            trace.append("f again=\(try keyed.decode(Bool.self, forKey: .f))")
            trace.append("b after e=\(try keyed.decode(String.self, forKey: .b))")
            trace.append("missing=\(String(describing: try keyed.decodeIfPresent(Int.self, forKey: .missing)))")
            let nested = try keyed.nestedContainer(keyedBy: AddressKey.self, forKey: .c)
            trace.append("zip=\(String(describing: try nested.decodeIfPresent(String.self, forKey: .zip)))")
            trace.append("street=\(try nested.decode(String.self, forKey: .street))")
            trace.append("a last=\(try keyed.decode(Int.self, forKey: .a))")
        }
        enum AddressKey: String, CodingKey { case street, zip }
    }

    @Test(arguments: [
        Wire(a: 1, b: "x", c: Address(street: "s", zip: nil), d: nil, e: [], f: true),
        Wire(
            a: -300_000, b: String(repeating: "é", count: 40), c: Address(street: "", zip: "z"), d: 2.5, e: [1, 2, 3],
            f: false),
    ])
    func everyWalkReadsWhatJSONReads(_ wire: Wire) throws {
        let compact = try CompactDecoder().decode(Walker.self, from: CompactEncoder().encode(wire))
        let json = try JSONDecoder().decode(Walker.self, from: JSONEncoder().encode(wire))
        #expect(compact == json)
        #expect(try CompactDecoder().decode(Wire.self, from: CompactEncoder().encode(wire)) == wire)
    }
}
