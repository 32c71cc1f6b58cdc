import Foundation

/// A small universe of `Codable` types from which values of random shape are built: synthesized
/// structs and enums (labeled and unlabeled associated values, keywords as names, 10-byte names),
/// every integer width, floats, strings, optionals, arrays, sets, and dictionaries keyed by
/// `String`, `Int`, a `CodingKeyRepresentable` enum and a struct, plus records and enum cases
/// whose key names are generated at run time (as a property or case name of any length would be).
///
/// Values are built from a tape of integers: the property checks shrink the tape (shorter, smaller
/// numbers), and a shorter tape builds a smaller value, so a failure shrinks to a small value.
struct Tape {
    var values: [UInt64]
    var index = 0
    /// Bounds the size of a value: every node costs one.
    var budget = 160

    init(_ values: [UInt64]) { self.values = values }

    mutating func next() -> UInt64 {
        defer { index += 1 }
        return index < values.count ? values[index] : 0
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// A dictionary key that is a `CodingKeyRepresentable` enum (encoded as an object key).
enum Color: String, Codable, CodingKeyRepresentable, Hashable, Sendable, CaseIterable {
    case red, green, blue, ultraviolet, infrared9
}

/// A dictionary key that is a struct (encoded as an array of key, value, key, value...).
struct Point: Codable, Hashable, Sendable {
    var x: Int16
    var y: UInt8
}

/// A synthesized struct with optionals, keyword names and a 10-byte name.
struct Box: Codable, Hashable, Sendable {
    var totalCents: Int
    var note: String?
    var child: Node?
    var `self`: Bool
    var `default`: Double
    var `class`: [Int8]
    var e: Float
}

/// A synthesized enum with associated values of every kind.
enum Shape: Codable, Hashable, Sendable {
    case point(x: Int, y: Int)
    case label(String)
    case pair(Int8, Node?)
    case empty
    case setAddress(String)
    case nested(inner: [Shape], `for`: UInt16?)
    case mixed(Int, name: String, Bool)
}

/// A struct whose property names are chosen at run time: a keyed container with any keys.
struct Record: Codable, Hashable, Sendable {
    var fields: [String: Node]
    /// The order `encode(to:)` writes them; not part of the value.
    var order: [String]

    init(_ pairs: [(String, Node)]) {
        var fields: [String: Node] = [:]
        var order: [String] = []
        for (key, value) in pairs where fields[key] == nil {
            fields[key] = value
            order.append(key)
        }
        self.fields = fields
        self.order = order
    }

    static func == (a: Record, b: Record) -> Bool { a.fields == b.fields }
    func hash(into hasher: inout Hasher) { hasher.combine(fields) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for key in order { try container.encode(fields[key]!, forKey: AnyKey(key)) }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        var pairs: [(String, Node)] = []
        for key in container.allKeys { pairs.append((key.stringValue, try container.decode(Node.self, forKey: key))) }
        self.init(pairs)
    }
}

/// An enum case whose name is chosen at run time, coded as Swift synthesizes enums:
/// `{"name": {"_0": v0, "_1": v1}}`.
struct DynamicCase: Codable, Hashable, Sendable {
    var name: String
    var values: [Node]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        var nested = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey(name))
        for (i, value) in values.enumerated() { try nested.encode(value, forKey: AnyKey("_\(i)")) }
    }

    init(name: String, values: [Node]) {
        self.name = name
        self.values = values
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "expected one case, found \(container.allKeys.count) keys"))
        }
        name = key.stringValue
        let nested = try container.nestedContainer(keyedBy: AnyKey.self, forKey: key)
        values = try (0..<nested.allKeys.count).map { try nested.decode(Node.self, forKey: AnyKey("_\($0)")) }
    }
}

struct AnyKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Any value of the universe (synthesized `Codable`).
indirect enum Node: Codable, Hashable, Sendable {
    case int(Int)
    case int8(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case uint(UInt)
    case uint8(UInt8)
    case uint16(UInt16)
    case uint32(UInt32)
    case uint64(UInt64)
    case bool(Bool)
    case string(String)
    case double(Double)
    case float(Float)
    case optional(Node?)
    case list([Node])
    case set(Set<Node>)
    case map([String: Node])
    case intMap([Int: Node])
    case colorMap([Color: Node])
    case pointMap([Point: Node])
    case record(Record)
    case dynamicCase(DynamicCase)
    case shape(Shape)
    case box(Box)
    case stringSet(Set<String>)
    case intSet(Set<Int>)
}

extension Tape {
    /// Integers that sit on encoding boundaries (small-integer tag, varint byte edges, 10 = the old end tag).
    static let edges: [Int64] = [
        0, 1, -1, 9, 10, 11, 63, 64, 127, 128, -128, 255, 256, 16383, 16384, -65, Int64(Int32.max), Int64(Int32.min),
        .max, .min,
    ]

    mutating func int64() -> Int64 {
        switch below(3) {
        case 0: return Self.edges[below(Self.edges.count)]
        case 1: return Int64(below(300)) - 150
        default: return Int64(bitPattern: next())
        }
    }

    mutating func uint64() -> UInt64 {
        switch below(3) {
        case 0: return UInt64(bitPattern: Self.edges[below(Self.edges.count)])
        case 1: return UInt64(below(300))
        default: return next()
        }
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T {
        T.isSigned ? T(truncatingIfNeeded: int64()) : T(truncatingIfNeeded: uint64())
    }

    static let doubles: [Double] = [
        0, -0.0, 1, -1, 0.1, 1.5, 1e300, -1e-300, .pi, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, .leastNormalMagnitude, .infinity, -.infinity, 9_007_199_254_740_992, 0x1p-1074 * 3,
        1e15, 123456.789,
    ]

    mutating func double() -> Double {
        if chance(60) { return Self.doubles[below(Self.doubles.count)] }
        let value = Double(bitPattern: next())
        return value.isNaN ? 2.5 : value
    }

    static let floats: [Float] = [
        0, -0.0, 1, -1, 0.1, 1.5, .pi, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
        .leastNormalMagnitude, .infinity, -.infinity, 16_777_216, Float(bitPattern: 1),
    ]

    mutating func float() -> Float {
        if chance(60) { return Self.floats[below(Self.floats.count)] }
        let value = Float(bitPattern: UInt32(truncatingIfNeeded: next()))
        return value.isNaN ? 0.25 : value
    }

    /// Scalars of every UTF-8 length, controls, NUL, the bytes of the encoding's tags, and non-BMP scalars.
    static let scalars: [Unicode.Scalar] = [
        "a", "Z", "0", "9", "_", " ", "\u{0}", "\u{1}", "\u{7}", "\u{8}", "\u{9}", "\u{A}", "\u{B}", "\u{C}", "\u{D}",
        "\u{1F}", "\"", "\\",
        "\u{7F}", "\u{80}", "é", "ß", "\u{301}", "π", "≈", "€", "\u{FFFD}", "\u{FEFF}", "\u{E000}", "\u{FFFF}", "𝄞",
        "🛒", "😀", "\u{10FFFF}",
    ]

    mutating func string(maxLength: Int = 24) -> String {
        let count = chance(10) ? below(300) : below(maxLength + 1)
        var string = String.UnicodeScalarView()
        let ascii = chance(50)
        for _ in 0..<count {
            if ascii {
                string.append(Unicode.Scalar(UInt8(32 + below(95))))
            } else {
                string.append(Self.scalars[below(Self.scalars.count)])
            }
        }
        return String(string)
    }

    static let specialKeys = [
        "", "super", "self", "class", "default", "Type", "init", "_0", "_1", "setAddress", "totalCents",
        "0123456789", "012345678", "01234567890", "\u{0}", "é", "🛒🛒🛒", "key with spaces", "\t\n",
    ]

    /// A key: often one that once broke things (10 bytes, keywords, empty), else a string of 0–300 bytes.
    mutating func key() -> String {
        switch below(4) {
        case 0: return Self.specialKeys[below(Self.specialKeys.count)]
        case 1: return String(repeating: "k", count: below(301))
        default: return string(maxLength: 14)
        }
    }

    mutating func count(_ limit: Int) -> Int { budget <= 0 ? 0 : below(limit + 1) }
}

extension Node {
    static func build(_ tape: inout Tape, depth: Int = 0) -> Node {
        tape.budget -= 1
        let leafKinds = 14
        let kind = (depth >= 4 || tape.budget <= 0) ? tape.below(leafKinds) : tape.below(27)
        switch kind {
        case 0: return .int(tape.integer(Int.self))
        case 1: return .int8(tape.integer(Int8.self))
        case 2: return .int16(tape.integer(Int16.self))
        case 3: return .int32(tape.integer(Int32.self))
        case 4: return .int64(tape.integer(Int64.self))
        case 5: return .uint(tape.integer(UInt.self))
        case 6: return .uint8(tape.integer(UInt8.self))
        case 7: return .uint16(tape.integer(UInt16.self))
        case 8: return .uint32(tape.integer(UInt32.self))
        case 9: return .uint64(tape.integer(UInt64.self))
        case 10: return .bool(tape.chance(50))
        case 11: return .string(tape.string())
        case 12: return .double(tape.double())
        case 13: return .float(tape.float())
        case 14: return .optional(tape.chance(50) ? build(&tape, depth: depth + 1) : nil)
        case 15: return .list((0..<tape.count(5)).map { _ in build(&tape, depth: depth + 1) })
        case 16: return .set(Set((0..<tape.count(5)).map { _ in build(&tape, depth: depth + 1) }))
        case 17:
            return .map(
                Dictionary(
                    (0..<tape.count(5)).map { _ in (tape.key(), build(&tape, depth: depth + 1)) },
                    uniquingKeysWith: { a, _ in a }))
        case 18:
            return .intMap(
                Dictionary(
                    (0..<tape.count(5)).map { _ in (tape.integer(Int.self), build(&tape, depth: depth + 1)) },
                    uniquingKeysWith: { a, _ in a }))
        case 19:
            return .colorMap(
                Dictionary(
                    (0..<tape.count(4)).map { _ in
                        (Color.allCases[tape.below(Color.allCases.count)], build(&tape, depth: depth + 1))
                    }, uniquingKeysWith: { a, _ in a }))
        case 20:
            return .pointMap(
                Dictionary(
                    (0..<tape.count(4)).map { _ in
                        (
                            Point(x: tape.integer(Int16.self), y: tape.integer(UInt8.self)),
                            build(&tape, depth: depth + 1)
                        )
                    }, uniquingKeysWith: { a, _ in a }))
        case 21: return .record(Record((0..<tape.count(5)).map { _ in (tape.key(), build(&tape, depth: depth + 1)) }))
        case 22:
            return .dynamicCase(
                DynamicCase(name: tape.key(), values: (0..<tape.count(3)).map { _ in build(&tape, depth: depth + 1) }))
        case 23: return .shape(Shape.build(&tape, depth: depth + 1))
        case 24:
            return .box(
                Box(
                    totalCents: tape.integer(Int.self), note: tape.chance(50) ? tape.string() : nil,
                    child: tape.chance(40) ? build(&tape, depth: depth + 1) : nil, self: tape.chance(50),
                    default: tape.double(),
                    class: (0..<tape.count(4)).map { _ in tape.integer(Int8.self) }, e: tape.float()))
        case 25: return .stringSet(Set((0..<tape.count(8)).map { _ in tape.key() }))
        default: return .intSet(Set((0..<tape.count(12)).map { _ in tape.integer(Int.self) }))
        }
    }
}

extension Shape {
    static func build(_ tape: inout Tape, depth: Int) -> Shape {
        switch tape.below(7) {
        case 0: return .point(x: tape.integer(Int.self), y: tape.integer(Int.self))
        case 1: return .label(tape.string())
        case 2: return .pair(tape.integer(Int8.self), tape.chance(50) ? Node.build(&tape, depth: depth + 1) : nil)
        case 3: return .empty
        case 4: return .setAddress(tape.string())
        case 5:
            return .nested(
                inner: depth >= 4 ? [] : (0..<tape.count(3)).map { _ in build(&tape, depth: depth + 1) },
                for: tape.chance(50) ? tape.integer(UInt16.self) : nil)
        default: return .mixed(tape.integer(Int.self), name: tape.key(), tape.chance(50))
        }
    }
}

/// Foundation's JSON round trip: the oracle (non-finite floats as strings, as the compact JSON rendering writes them).
enum FoundationOracle {
    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(T.self, from: encoder.encode(value))
    }
}
