import Foundation
import PropertyBased
import StateJournalMacros
import Testing

@testable import StateJournalEncoding

// The types under test: the macro writes their `CompactCodable` conformance; their synthesized
// `Codable` conformance, reached through `ViaCodable`, is the oracle.

@CompactCodable
struct Inner: Codable, Equatable {
    let a: Int32
    var `default`: String
    var f: Float
    /// Keys of one character, ASCII (`a`, `f`) or not: what users name their properties.
    // swift-format-ignore: IdentifiersMustBeASCII
    var é: Bool?
    // swift-format-ignore: IdentifiersMustBeASCII
    var 𝔵: [Int]?
}

@CompactCodable
struct Event: Codable, Equatable {
    var type: String
    var room: String
    var id: Int
    var ts: Int64
    var score: Double
    var flag: Bool
    var note: String?
    var tags: [String]
    var small: UInt8, big: UInt64
    var inner: Inner
    var maybeInner: Optional<Inner>
    var counts: [String: Int]
    var kind: Kind
    /// Optional through a type alias, and implicitly unwrapped: `Codable` leaves both out when nil.
    var alias: Note
    var unwrapped: Int!
    /// Arrays the writer and reader take element by element.
    var inners: [Inner]
    var maybeTags: [String]?
    var maybeInners: [Inner]?
    static let unused = 1
    var computed: Int { id * 2 }
}

typealias Note = String?

@CompactCodable
enum Kind: String, Codable, Equatable {
    case alpha, beta
    case gamma = "γ"
}

@CompactCodable
enum Message: Codable, Equatable {
    case join(user: String)
    case post(user: String, text: String, ts: Int64)
    case pair(Int, String)
    case mixed(Int, label: String)
    case mark
    case optional(note: String?, count: Int?)
    case event(Event)
    case `default`(x: UInt)
}

@CompactCodable
indirect enum Tree: Codable, Equatable {
    case leaf(Int)
    case node(Tree, Tree)
}

@CompactCodable
public struct Counter: Codable, Equatable {
    public var value: Int
    public var observed: Int {
        didSet { value += 0 }
    }
    public init(value: Int, observed: Int) {
        self.value = value
        self.observed = observed
    }
}

@CompactCodable
struct Box<T: Codable & Equatable>: Codable, Equatable {
    var value: T
    var list: [T]
    var message: Message?
    var messages: [Message]
}

/// Encodes and decodes `T` through its synthesized `Codable` conformance only: the oracle.
struct ViaCodable<T: Codable>: Codable {
    var value: T
    init(_ value: T) { self.value = value }
    init(from decoder: any Decoder) throws { value = try T(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// A deterministic source of choices, from the property test's input.
struct Tape {
    var words: [UInt64]
    var index = 0
    init(_ words: [UInt64]) { self.words = words }
    mutating func next() -> UInt64 {
        defer { index += 1 }
        return words.isEmpty ? 0 : words[index % words.count] &+ UInt64(index / max(words.count, 1))
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func string() -> String {
        let pieces = ["", "a", "room-7", "é", "γ", "\u{0}", "a longer text of some words", "😀", "message.posted"]
        return (0..<below(3)).map { _ in pieces[below(pieces.count)] }.joined()
    }
    mutating func double() -> Double {
        [0, -0.0, 1.5, -2.25, .infinity, -.infinity, .nan, Double(Int64(bitPattern: next())), 1e300][below(9)]
    }
    mutating func inner() -> Inner {
        Inner(
            a: Int32(truncatingIfNeeded: next()), default: string(), f: Float(double()),
            é: below(2) == 0 ? nil : below(2) == 0, 𝔵: below(2) == 0 ? nil : [below(5)])
    }
    mutating func kind() -> Kind { [.alpha, .beta, .gamma][below(3)] }
    mutating func event() -> Event {
        Event(
            type: string(), room: string(), id: Int(bitPattern: UInt(next() >> UInt64(below(64)))),
            ts: Int64(bitPattern: next()), score: double(), flag: below(2) == 0,
            note: below(2) == 0 ? nil : string(), tags: (0..<below(4)).map { _ in string() },
            small: UInt8(truncatingIfNeeded: next()), big: next() >> UInt64(below(64)), inner: inner(),
            maybeInner: below(2) == 0 ? nil : inner(),
            counts: Dictionary(
                (0..<below(4)).map { _ in (string(), below(1000) - 500) }, uniquingKeysWith: { a, _ in a }),
            kind: kind(), alias: below(2) == 0 ? nil : string(), unwrapped: below(2) == 0 ? nil : below(9),
            inners: (0..<below(3)).map { _ in inner() }, maybeTags: below(2) == 0 ? nil : [string()],
            maybeInners: below(2) == 0 ? nil : (0..<below(3)).map { _ in inner() })
    }
    mutating func message(depth: Int = 0) -> Message {
        switch below(depth > 1 ? 7 : 8) {
        case 0: return .join(user: string())
        case 1: return .post(user: string(), text: string(), ts: Int64(bitPattern: next()))
        case 2: return .pair(below(100) - 50, string())
        case 3: return .mixed(Int(truncatingIfNeeded: next()), label: string())
        case 4: return .mark
        case 5: return .optional(note: below(2) == 0 ? nil : string(), count: below(2) == 0 ? nil : below(9))
        case 6: return .default(x: UInt(next() >> 3))
        default: return .event(event())
        }
    }
    mutating func tree(depth: Int = 0) -> Tree {
        if depth > 6 || below(3) == 0 { return .leaf(Int(truncatingIfNeeded: next())) }
        return .node(tree(depth: depth + 1), tree(depth: depth + 1))
    }
}

/// Fails unless `value` encodes to the bytes of its `Codable` conformance, its own reader reads
/// those bytes back whole, and every decoding agrees.
func checkAgainstCodable<T: CompactCodable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let direct = try CompactEncoder().encode(value)
    let oracle = try CompactEncoder().encode(ViaCodable(value))
    #expect(direct == oracle, "bytes differ from Codable's for \(value)", sourceLocation: sourceLocation)
    // The type's own reader reads them (no silent fall back to Codable), to the last byte.
    let read = try oracle.withUnsafeBytes { raw -> T in
        var reader = CompactReader(raw)
        let read = try T(from: &reader)
        #expect(reader.cursor.atEnd, sourceLocation: sourceLocation)
        return read
    }
    let decoded = try CompactDecoder().decode(T.self, from: oracle)
    let viaCodable = try CompactDecoder().decode(ViaCodable<T>.self, from: oracle).value
    // Every decoding holds the same value: compared by its bytes through `Codable` (NaN is not
    // equal to itself).
    for (name, other) in [("own reader", read), ("CompactDecoder", decoded), ("Codable", viaCodable)] {
        #expect(
            try CompactEncoder().encode(ViaCodable(other)) == oracle, "\(name) decoded \(other) from \(value)",
            sourceLocation: sourceLocation)
    }
}

/// Fails unless decoding `bytes` as `T` gives what `Codable` gives: the same value or an error
/// with the same description.
func checkDecodingAgrees<T: CompactCodable>(
    _ type: T.Type, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) {
    let direct = Result { try CompactDecoder().decode(T.self, from: bytes) }
    let oracle = Result { try CompactDecoder().decode(ViaCodable<T>.self, from: bytes).value }
    switch (direct, oracle) {
    case (.success(let a), .success(let b)):
        #expect(
            (try? CompactEncoder().encode(ViaCodable(a))) == (try? CompactEncoder().encode(ViaCodable(b))),
            sourceLocation: sourceLocation)
    case (.failure(let a), .failure(let b)):
        #expect("\(a)" == "\(b)", sourceLocation: sourceLocation)
    default:
        Issue.record("\(bytes): \(direct) but Codable gives \(oracle)", sourceLocation: sourceLocation)
    }
}

@Suite struct CompactCodableTests {
    @Test func structsWriteAndReadTheBytesOfTheirCodableConformance() async {
        await propertyCheck(count: 1500, input: Gen.uint64().array(of: 1...64)) { words in
            var tape = Tape(words)
            try checkAgainstCodable(tape.event())
            try checkAgainstCodable(tape.inner())
            try checkAgainstCodable(Counter(value: tape.below(99), observed: tape.below(9)))
            try checkAgainstCodable(Box(value: tape.string(), list: [tape.string()], message: nil, messages: []))
            try checkAgainstCodable(
                Box(
                    value: tape.event(), list: [tape.event()], message: tape.message(),
                    messages: (0..<tape.below(4)).map { _ in tape.message(depth: 1) }))
        }
    }

    @Test func enumsWriteAndReadTheBytesOfTheirCodableConformance() async {
        await propertyCheck(count: 1500, input: Gen.uint64().array(of: 1...64)) { words in
            var tape = Tape(words)
            try checkAgainstCodable(tape.message())
            try checkAgainstCodable(tape.kind())
            try checkAgainstCodable(tape.tree())
        }
    }

    /// Every case and every optional both ways, whatever the random draws cover.
    @Test func everyCaseRoundTrips() throws {
        let event = Event(
            type: "t", room: "r", id: -1, ts: .max, score: .nan, flag: true, note: nil, tags: [], small: 255,
            big: .max, inner: Inner(a: .min, default: "", f: -0.0, é: true, 𝔵: []), maybeInner: nil, counts: [:],
            kind: .gamma,
            alias: nil, unwrapped: nil, inners: [], maybeTags: nil, maybeInners: [])
        let messages: [Message] = [
            .join(user: "u"), .post(user: "u", text: "t", ts: 0), .pair(-5, "x"), .mixed(7, label: "l"), .mark,
            .optional(note: nil, count: nil), .optional(note: "n", count: 0), .event(event), .default(x: 0),
        ]
        for message in messages { try checkAgainstCodable(message) }
        var full = event
        full.note = "note"
        full.maybeInner = Inner(a: 1, default: "d", f: 1, é: false, 𝔵: nil)
        full.alias = "a"
        full.unwrapped = 3
        try checkAgainstCodable(full)
        for kind in [Kind.alpha, .beta, .gamma] { try checkAgainstCodable(kind) }
    }

    /// Layouts `Codable` accepts and the type's own reader does not (keys in another order, an
    /// unknown key): decoded through `Codable`, same value. Optionals written as an explicit nil,
    /// which `Codable` accepts too, decode to the same value.
    @Test func otherLayoutsFallBackToCodable() throws {
        struct Reordered: Codable {
            var f: Float
            var extra: [Int]
            var `default`: String
            var a: Int32
        }
        let bytes = try CompactEncoder().encode(Reordered(f: 2, extra: [1], default: "d", a: 9))
        #expect(throws: (any Error).self) {
            try bytes.withUnsafeBytes { raw in
                var reader = CompactReader(raw)
                _ = try Inner(from: &reader)
            }
        }
        #expect(try CompactDecoder().decode(Inner.self, from: bytes) == Inner(a: 9, default: "d", f: 2, é: nil, 𝔵: nil))
        checkDecodingAgrees(Inner.self, bytes)

        struct WithNil: Codable {
            var note: String?
            var count: Int?
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encodeNil(forKey: .note)
                try container.encode(count, forKey: .count)
            }
        }
        struct Outer: Codable { var optional: WithNil }
        let optional = try CompactEncoder().encode(Outer(optional: WithNil(note: nil, count: 3)))
        #expect(try CompactDecoder().decode(Message.self, from: optional) == .optional(note: nil, count: 3))
        checkDecodingAgrees(Message.self, optional)
    }

    /// Cut, flipped and spliced bytes: the outcome (value or error, with its message) is always
    /// the one `Codable` gives.
    @Test func damagedBytesDecodeAsCodableDecodesThem() async {
        await propertyCheck(count: 1500, input: Gen.uint64().array(of: 1...64)) { words in
            var tape = Tape(words)
            let event = try CompactEncoder().encode(tape.event())
            let message = try CompactEncoder().encode(tape.message())
            let tree = try CompactEncoder().encode(tape.tree())
            for valid in [event, message, tree] {
                var damaged = valid
                switch tape.below(4) {
                case 0: damaged.removeLast(1 + tape.below(damaged.count))
                case 1: damaged[tape.below(damaged.count)] ^= UInt8(1 << tape.below(8))
                case 2: damaged.insert(UInt8(truncatingIfNeeded: tape.next()), at: tape.below(damaged.count + 1))
                default: damaged.append(contentsOf: valid.prefix(tape.below(valid.count)))
                }
                checkDecodingAgrees(Event.self, damaged)
                checkDecodingAgrees(Message.self, damaged)
                checkDecodingAgrees(Tree.self, damaged)
                checkDecodingAgrees(Kind.self, damaged)
            }
        }
    }

    /// Nesting far deeper than the decoder allows is refused, as by `Codable`, without
    /// exhausting the stack.
    @Test func deepNestingIsRefused() throws {
        var tree = Tree.leaf(0)
        for _ in 0..<300 { tree = .node(tree, .leaf(1)) }
        let bytes = try CompactEncoder().encode(tree)
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Tree.self, from: bytes) }
        checkDecodingAgrees(Tree.self, bytes)
    }

    /// Foundation's JSON decoder, reading the compact bytes rendered as JSON, finds the values
    /// the macro's encoder wrote (a decoder that shares no code with it).
    @Test func foundationJSONSeesTheSameValues() throws {
        var tape = Tape([7, 11, 13])
        for _ in 0..<50 {
            let message = tape.message(depth: 2)
            let bytes = try CompactEncoder().encode(message)
            let json = try CompactJSON.render(bytes)
            let fromJSON = try JSONDecoder().decode(Message.self, from: Data(json.utf8))
            #expect(try CompactEncoder().encode(ViaCodable(fromJSON)) == CompactEncoder().encode(ViaCodable(message)))
        }
    }
}
