import Synchronization

/// A `Codable` type that also writes and reads its compact encoding directly, without going
/// through `Encoder` and `Decoder`: the same bytes, several times faster.
///
/// Write the conformance with the `@CompactCodable` macro (product `StateJournalMacros`), which
/// generates both requirements from the stored properties or enum cases, in the layout the
/// synthesized `Codable` conformance gives:
///
/// ```swift
/// import StateJournalMacros
///
/// @CompactCodable
/// struct Posted: Codable {
///     var room: String
///     var text: String
///     var at: Int64
/// }
/// ```
///
/// ``CompactEncoder``, ``CompactDecoder`` and the runtime's `CompactCodec` use the conformance
/// wherever the value's type is known to conform: the top-level value, and the properties of a
/// conforming type whose types conform. The bytes are those of the `Codable` conformance, so a
/// journal written with one is read with the other, and adding or removing the macro changes
/// nothing on disk.
///
/// `init(from:)` reads the layout its `encode(to:)` writes, strictly: keys in that order, no
/// unknown key. A value in any other layout the `Codable` conformance accepts (keys in another
/// order, unknown keys from an older version of the type) makes it throw, and ``CompactDecoder``
/// then decodes the value through `Codable` instead: the outcome, value or error, is the one
/// `Codable` gives.
public protocol CompactCodable: Codable {
    /// Writes the value: exactly the bytes ``CompactEncoder`` writes for its `Codable` conformance.
    func encode(to writer: inout CompactWriter) throws
    /// Reads a value that `encode(to:)` wrote; throws on any other layout.
    init(from reader: inout CompactReader) throws
}

extension CompactCodable {
    /// Encodes the value at `pointer` (a `Self`): lets a generic caller holding only the
    /// conformance's metatype encode its value without boxing it in an existential.
    static func encodeCompact(at pointer: UnsafeRawPointer, to writer: inout CompactWriter) throws {
        try pointer.assumingMemoryBound(to: Self.self).pointee.encode(to: &writer)
    }

    /// Decodes a value into the uninitialized memory at `pointer` (a `Self`); leaves it
    /// uninitialized when it throws.
    static func decodeCompact(into pointer: UnsafeMutableRawPointer, from reader: inout CompactReader) throws {
        pointer.assumingMemoryBound(to: Self.self).initialize(to: try Self(from: &reader))
    }
}

/// The types last found not to conform to ``CompactCodable``, for ``CompactDecoder``: a failed
/// conformance lookup costs about a tenth of decoding a small struct, on every value. Racing
/// updates are harmless: a type missing from the slots is looked up again.
enum NotCompactCodable {
    private static let slot0 = Atomic<UInt>(0)
    private static let slot1 = Atomic<UInt>(0)
    private static let slot2 = Atomic<UInt>(0)
    private static let slot3 = Atomic<UInt>(0)
    private static let next = Atomic<UInt>(0)

    /// `T`'s conformance, or nil; remembers the types that have none.
    @inline(__always)
    static func conformance<T>(of type: T.Type) -> (any CompactCodable.Type)? {
        let id = UInt(bitPattern: ObjectIdentifier(type))
        if slot0.load(ordering: .relaxed) == id || slot1.load(ordering: .relaxed) == id
            || slot2.load(ordering: .relaxed) == id || slot3.load(ordering: .relaxed) == id
        {
            return nil
        }
        if let conforming = type as? any CompactCodable.Type { return conforming }
        switch next.wrappingAdd(1, ordering: .relaxed).oldValue & 3 {
        case 0: slot0.store(id, ordering: .relaxed)
        case 1: slot1.store(id, ordering: .relaxed)
        case 2: slot2.store(id, ordering: .relaxed)
        default: slot3.store(id, ordering: .relaxed)
        }
        return nil
    }
}

/// Writes compact-encoded values; handed to ``CompactCodable/encode(to:)``, and valid only
/// during that call.
///
/// Objects are written as their entries come: ``beginObject()``, then a ``key(_:)`` and a value
/// per entry, then ``endObject()``. Every `encode` is `throws`, so that generated code writes
/// `try` whatever the value's type; only the `Encodable` fallback can actually throw. Values of types that are not ``CompactCodable`` are written
/// through their `Encodable` conformance, as ``CompactEncoder`` would.
public struct CompactWriter {
    let encoding: CompactEncoding

    init(_ encoding: CompactEncoding) {
        self.encoding = encoding
    }

    /// Starts an object (a keyed container).
    public mutating func beginObject() { encoding.append(CompactTag.objectStart) }

    /// Ends the object started last.
    public mutating func endObject() { encoding.append(CompactTag.objectEnd) }

    /// Writes the key of the next entry of the open object.
    public mutating func key(_ name: StaticString) {
        precondition(name.hasPointerRepresentation, "an object key is a string literal")
        encoding.writeVarint(UInt64(name.utf8CodeUnitCount) + 1)
        encoding.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    /// Writes nil.
    public mutating func encodeNil() { encoding.append(CompactTag.null) }
    /// Writes a string.
    public mutating func encode(_ value: String) throws { encoding.writeString(value) }
    /// Writes a Boolean.
    public mutating func encode(_ value: Bool) throws { encoding.append(value ? CompactTag.true : CompactTag.false) }
    /// Writes a Double (every NaN as the one canonical NaN).
    public mutating func encode(_ value: Double) throws { encoding.writeDouble(value) }
    /// Writes a Float (every NaN as the one canonical NaN).
    public mutating func encode(_ value: Float) throws { encoding.writeFloat(value) }
    /// Writes an integer.
    public mutating func encode(_ value: Int) throws { encoding.writeSigned(Int64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: Int8) throws { encoding.writeSigned(Int64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: Int16) throws { encoding.writeSigned(Int64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: Int32) throws { encoding.writeSigned(Int64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: Int64) throws { encoding.writeSigned(value) }
    /// Writes an integer.
    public mutating func encode(_ value: UInt) throws { encoding.writeUnsigned(UInt64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: UInt8) throws { encoding.writeUnsigned(UInt64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: UInt16) throws { encoding.writeUnsigned(UInt64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: UInt32) throws { encoding.writeUnsigned(UInt64(value)) }
    /// Writes an integer.
    public mutating func encode(_ value: UInt64) throws { encoding.writeUnsigned(value) }

    /// Writes a value of a ``CompactCodable`` type with its own `encode(to:)`.
    public mutating func encode<T: CompactCodable>(_ value: T) throws {
        try value.encode(to: &self)
    }

    /// Writes a value through its `Encodable` conformance, as ``CompactEncoder`` does.
    public mutating func encode<T: Encodable>(_ value: T) throws {
        try encoding.encodeValue(value)
    }
}

/// Reads compact-encoded values; handed to ``CompactCodable/init(from:)``. It borrows the bytes
/// it reads: valid only during that call.
///
/// Every read checks the bytes it reads: a read that finds another tag, another key, or the
/// end of the input throws. Values of types that are not ``CompactCodable`` are read through
/// their `Decodable` conformance, as ``CompactDecoder`` would.
public struct CompactReader {
    var cursor: CompactCursor
    var depth: Int

    init(_ bytes: UnsafeRawBufferPointer, depth: Int = 0) {
        self.cursor = CompactCursor(bytes, position: 0)
        self.depth = depth
    }

    /// The error of a read that found something else than what it expected.
    public func mismatch(_ expected: String) -> any Error {
        DecodingError.dataCorrupted(
            .init(
                codingPath: [],
                debugDescription: "at byte \(cursor.position) of the compact value: expected \(expected)"))
    }

    /// Reads the start of an object.
    public mutating func beginObject() throws {
        guard (try? cursor.peek()) == CompactTag.objectStart else { throw mismatch("an object") }
        guard depth < CompactTag.maxDepth else { throw mismatch("nesting no deeper than \(CompactTag.maxDepth)") }
        cursor.position += 1
        depth += 1
    }

    /// Reads the end of the object started last.
    public mutating func endObject() throws {
        guard (try? cursor.peek()) == CompactTag.objectEnd else { throw mismatch("the end of an object") }
        cursor.position += 1
        depth -= 1
    }

    /// Reads the key of the next entry, which must be `name`.
    public mutating func key(_ name: StaticString) throws {
        guard nextKey(is: name) else { throw mismatch("the key \"\(name)\"") }
    }

    /// Reads the key of the next entry when it is `name` (and returns true); otherwise reads
    /// nothing and returns false.
    public mutating func nextKey(is name: StaticString) -> Bool {
        var probe = cursor
        guard let range = (try? probe.objectKey()) ?? nil, range.count == name.utf8CodeUnitCount else { return false }
        guard
            range.isEmpty
                || compareBytes(
                    cursor.bytes.baseAddress! + range.lowerBound, UnsafeRawPointer(name.utf8Start), count: range.count)
                    == 0
        else { return false }
        cursor = probe
        return true
    }

    /// Reads nil when the next value is nil (and returns true); otherwise reads nothing.
    public mutating func decodeNil() -> Bool {
        guard (try? cursor.peek()) == CompactTag.null else { return false }
        cursor.position += 1
        return true
    }

    /// Reads a string.
    public mutating func decode(_ type: String.Type) throws -> String { try cursor.readString() }
    /// Reads a Boolean.
    public mutating func decode(_ type: Bool.Type) throws -> Bool { try cursor.readBool() }
    /// Reads a Double (integers are read as their Double, as `Codable` decoding does).
    public mutating func decode(_ type: Double.Type) throws -> Double { try cursor.readDouble() }
    /// Reads a Float.
    public mutating func decode(_ type: Float.Type) throws -> Float { Float(try cursor.readDouble()) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: Int.Type) throws -> Int { try cursor.readInteger(Int.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: Int8.Type) throws -> Int8 { try cursor.readInteger(Int8.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: Int16.Type) throws -> Int16 { try cursor.readInteger(Int16.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: Int32.Type) throws -> Int32 { try cursor.readInteger(Int32.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: Int64.Type) throws -> Int64 { try cursor.readInteger(Int64.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: UInt.Type) throws -> UInt { try cursor.readInteger(UInt.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try cursor.readInteger(UInt8.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try cursor.readInteger(UInt16.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try cursor.readInteger(UInt32.self) }
    /// Reads an integer; throws when it does not fit.
    public mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try cursor.readInteger(UInt64.self) }

    /// Reads a value of a ``CompactCodable`` type with its own `init(from:)`.
    public mutating func decode<T: CompactCodable>(_ type: T.Type) throws -> T {
        try T(from: &self)
    }

    /// Reads a value through its `Decodable` conformance, as ``CompactDecoder`` does: the value's
    /// bytes are checked whole first.
    public mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let start = cursor.position
        var end = cursor
        do {
            try end.skipValue(depth: depth)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: error.description, underlyingError: error))
        }
        let value = try CompactDecoding(bytes: cursor.bytes, position: start).decodeValue(type, depth: depth)
        cursor = end
        return value
    }

    /// Reads a value, or nil when the value is nil (`decodeIfPresent` of a present key).
    public mutating func decodeIfPresent<T: CompactCodable>(_ type: T.Type) throws -> T? {
        if decodeNil() { return nil }
        return try decode(type)
    }

    /// Reads a value, or nil when the value is nil (`decodeIfPresent` of a present key).
    public mutating func decodeIfPresent<T: Decodable>(_ type: T.Type) throws -> T? {
        if decodeNil() { return nil }
        return try decode(type)
    }
}
