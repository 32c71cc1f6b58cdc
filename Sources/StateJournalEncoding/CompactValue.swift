@_spi(Bytes) import StateJournalSystem

/// A compact-encoded value as a tree: what message and state upcasting works on, so that an
/// old journal's values can be reshaped (a field or an enum case renamed, a field added) before
/// they are decoded into the current Swift types.
///
/// Swift's synthesized `Codable` writes a struct as an object of its stored properties, and an
/// enum case with associated values as an object with one key, the case name, whose value is an
/// object of the associated values (`_0`, `_1`, … or their labels).
///
/// ```swift
/// // Version 1 wrote `case addItem(name: String, qty: Int)`; version 2 has `add(name:quantity:)`.
/// if case .object(var message) = value, let old = message.removeValue(forKey: "addItem"),
///    case .object(var fields) = old {
///     fields["quantity"] = fields.removeValue(forKey: "qty")
///     message["add"] = .object(fields)
///     value = .object(message)
/// }
/// ```
public indirect enum CompactValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A signed integer (as Swift's signed integer types encode; 0–127 read back as ``unsigned(_:)``).
    case int(Int64)
    case unsigned(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    case array([CompactValue])
    /// An object (a struct, a keyed enum case, a `[String: …]` dictionary). Encoded with its keys
    /// sorted, so the same object always gives the same bytes.
    case object([String: CompactValue])

    /// Parses one compact-encoded value that fills `bytes`.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(CompactFormatError) {
        var cursor = CompactCursor(bytes)
        self = try Self.parse(&cursor, depth: 0)
        guard cursor.atEnd else { throw cursor.fail("value followed by \(bytes.count - cursor.position) extra bytes") }
    }

    /// Parses `bytes`, which must hold exactly one compact value.
    public init(decoding bytes: [UInt8]) throws(CompactFormatError) {
        var result: Result<CompactValue, CompactFormatError>!
        bytes.withUnsafeBytes { raw in
            do throws(CompactFormatError) { result = .success(try CompactValue(decoding: raw)) } catch {
                result = .failure(error)
            }
        }
        self = try result.get()
    }

    private static func parse(_ cursor: inout CompactCursor, depth: Int) throws(CompactFormatError) -> CompactValue {
        guard depth < CompactTag.maxDepth else { throw cursor.fail("nested deeper than \(CompactTag.maxDepth)") }
        let tag = try cursor.byte()
        if tag >= CompactTag.smallUnsigned { return .unsigned(UInt64(tag & 0x7F)) }
        switch tag {
        case CompactTag.null: return .null
        case CompactTag.false: return .bool(false)
        case CompactTag.true: return .bool(true)
        case CompactTag.signed:
            let zigzag = try cursor.varint()
            return .int(Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1))))
        case CompactTag.unsigned: return .unsigned(try cursor.varint())
        case CompactTag.double: return .double(Double(bitPattern: try cursor.fixed(UInt64.self)))
        case CompactTag.float: return .float(Float(bitPattern: try cursor.fixed(UInt32.self)))
        case CompactTag.string:
            let range = try cursor.utf8Run()
            return .string(try string(cursor, range, "string"))
        case CompactTag.arrayStart:
            var elements: [CompactValue] = []
            while try cursor.peek() != CompactTag.end { elements.append(try parse(&cursor, depth: depth + 1)) }
            _ = try cursor.byte()
            return .array(elements)
        case CompactTag.objectStart:
            var entries: [String: CompactValue] = [:]
            while let range = try cursor.objectKey() {
                let key = try string(cursor, range, "key")
                guard entries[key] == nil else { throw cursor.fail("key \"\(key)\" appears twice") }
                entries[key] = try parse(&cursor, depth: depth + 1)
            }
            return .object(entries)
        case CompactTag.legacyObjectStart:
            throw cursor.fail(
                "an object of the first compact encoding (tag 0x09) cannot be upcast; replay it once with the current types"
            )
        default:
            throw CompactFormatError(offset: cursor.position - 1, reason: "unknown tag 0x\(String(tag, radix: 16))")
        }
    }

    private static func string(_ cursor: CompactCursor, _ range: Range<Int>, _ what: String) throws(CompactFormatError)
        -> String
    {
        try cursor.requireUTF8(range, what)
        return String(decoding: UnsafeRawBufferPointer(rebasing: cursor.bytes[range]), as: UTF8.self)
    }

    /// The value's compact encoding.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        append(to: &bytes)
        return bytes
    }

    func append(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(CompactTag.null)
        case .bool(let value): bytes.append(value ? CompactTag.true : CompactTag.false)
        case .int(let value):
            if value >= 0 && value < 0x80 {
                bytes.append(CompactTag.smallUnsigned | UInt8(value))
            } else {
                bytes.append(CompactTag.signed)
                bytes.appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
            }
        case .unsigned(let value): Self.appendUnsigned(value, to: &bytes)
        case .double(let value):
            bytes.append(CompactTag.double)
            bytes.appendLE(value.isNaN ? CompactTag.canonicalDoubleNaN : value.bitPattern)
        case .float(let value):
            bytes.append(CompactTag.float)
            bytes.appendLE(value.isNaN ? CompactTag.canonicalFloatNaN : value.bitPattern)
        case .string(let value):
            bytes.append(CompactTag.string)
            bytes.appendVarint(UInt64(value.utf8.count))
            bytes.append(contentsOf: value.utf8)
        case .array(let elements):
            bytes.append(CompactTag.arrayStart)
            for element in elements { element.append(to: &bytes) }
            bytes.append(CompactTag.end)
        case .object(let entries):
            bytes.append(CompactTag.objectStart)
            for key in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                bytes.appendVarint(UInt64(key.utf8.count) + 1)
                bytes.append(contentsOf: key.utf8)
                entries[key]!.append(to: &bytes)
            }
            bytes.append(CompactTag.objectEnd)
        }
    }

    private static func appendUnsigned(_ value: UInt64, to bytes: inout [UInt8]) {
        if value < 0x80 {
            bytes.append(CompactTag.smallUnsigned | UInt8(value))
        } else {
            bytes.append(CompactTag.unsigned)
            bytes.appendVarint(value)
        }
    }

    /// The value as JSON-like text, for messages and tests.
    public var description: String {
        (try? CompactJSON.render(encoded)) ?? "<unencodable>"
    }
}
