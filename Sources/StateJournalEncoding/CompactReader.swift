@_spi(Bytes) import StateJournalSystem

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
        guard let range = (try? probe.objectKey()) ?? nil else { return false }
        let matches: Bool
        if name.hasPointerRepresentation {
            // The usual literal: compared in place, without a closure.
            matches =
                name.utf8CodeUnitCount == range.count
                && (range.isEmpty
                    || compareBytes(
                        cursor.bytes.baseAddress! + range.lowerBound, UnsafeRawPointer(name.utf8Start),
                        count: range.count) == 0)
        } else {
            matches = name.withUTF8Buffer { utf8 in
                utf8.count == range.count
                    && (range.isEmpty
                        || compareBytes(
                            cursor.bytes.baseAddress! + range.lowerBound, utf8.baseAddress!, count: range.count) == 0)
            }
        }
        guard matches else { return false }
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
        let value = try CompactDecoding.decode(type, from: cursor.bytes, position: start, depth: depth)
        cursor = end
        return value
    }

    // MARK: Entries (a key and its value; an optional absent or nil when its key is missing)

    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: String.Type, forKey key: StaticString) throws -> String {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: String?.Type, forKey key: StaticString) throws -> String? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(String.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Bool.Type, forKey key: StaticString) throws -> Bool {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Bool?.Type, forKey key: StaticString) throws -> Bool? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Bool.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Double.Type, forKey key: StaticString) throws -> Double {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Double?.Type, forKey key: StaticString) throws -> Double? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Double.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Float.Type, forKey key: StaticString) throws -> Float {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Float?.Type, forKey key: StaticString) throws -> Float? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Float.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Int.Type, forKey key: StaticString) throws -> Int {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Int?.Type, forKey key: StaticString) throws -> Int? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Int.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Int8.Type, forKey key: StaticString) throws -> Int8 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Int8?.Type, forKey key: StaticString) throws -> Int8? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Int8.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Int16.Type, forKey key: StaticString) throws -> Int16 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Int16?.Type, forKey key: StaticString) throws -> Int16? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Int16.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Int32.Type, forKey key: StaticString) throws -> Int32 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Int32?.Type, forKey key: StaticString) throws -> Int32? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Int32.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: Int64.Type, forKey key: StaticString) throws -> Int64 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: Int64?.Type, forKey key: StaticString) throws -> Int64? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(Int64.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: UInt.Type, forKey key: StaticString) throws -> UInt {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: UInt?.Type, forKey key: StaticString) throws -> UInt? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(UInt.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: UInt8.Type, forKey key: StaticString) throws -> UInt8 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: UInt8?.Type, forKey key: StaticString) throws -> UInt8? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(UInt8.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: UInt16.Type, forKey key: StaticString) throws -> UInt16 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: UInt16?.Type, forKey key: StaticString) throws -> UInt16? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(UInt16.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: UInt32.Type, forKey key: StaticString) throws -> UInt32 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: UInt32?.Type, forKey key: StaticString) throws -> UInt32? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(UInt32.self)
    }
    /// Reads an entry: its key, which must be `key`, and its value.
    public mutating func decode(_ type: UInt64.Type, forKey key: StaticString) throws -> UInt64 {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry: nil when the next key is not `key` or its value is nil.
    public mutating func decode(_ type: UInt64?.Type, forKey key: StaticString) throws -> UInt64? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(UInt64.self)
    }
    /// Reads an entry whose value decodes itself.
    public mutating func decode<T: CompactCodable>(_ type: T.Type, forKey key: StaticString) throws -> T {
        try self.key(key)
        return try T(from: &self)
    }
    /// Reads an optional entry whose value decodes itself.
    public mutating func decode<T: CompactCodable>(_ type: T?.Type, forKey key: StaticString) throws -> T? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try T(from: &self)
    }
    /// Reads an entry through the value's `Decodable` conformance.
    public mutating func decode<T: Decodable>(_ type: T.Type, forKey key: StaticString) throws -> T {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry through the value's `Decodable` conformance.
    public mutating func decode<T: Decodable>(_ type: T?.Type, forKey key: StaticString) throws -> T? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode(T.self)
    }

    // MARK: Arrays read element by element (what `Array`'s `Decodable` conformance reads)

    /// Reads the start of an array.
    private mutating func beginArray() throws {
        guard (try? cursor.peek()) == CompactTag.arrayStart else { throw mismatch("an array") }
        guard depth < CompactTag.maxDepth else { throw mismatch("nesting no deeper than \(CompactTag.maxDepth)") }
        cursor.position += 1
        depth += 1
    }

    /// Reads the end of the array started last, when it comes next (and returns true).
    private mutating func endArray() -> Bool {
        guard (try? cursor.peek()) == CompactTag.end else { return false }
        cursor.position += 1
        depth -= 1
        return true
    }

    /// Reads an array of strings.
    public mutating func decode(_ type: [String].Type) throws -> [String] {
        try beginArray()
        var result: [String] = []
        while !endArray() { result.append(try cursor.readString()) }
        return result
    }
    /// Reads an array whose elements decode themselves.
    public mutating func decode<T: CompactCodable>(_ type: [T].Type) throws -> [T] {
        try beginArray()
        var result: [T] = []
        while !endArray() { result.append(try T(from: &self)) }
        return result
    }
    /// Reads an entry holding an array of strings.
    public mutating func decode(_ type: [String].Type, forKey key: StaticString) throws -> [String] {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry holding an array of strings.
    public mutating func decode(_ type: [String]?.Type, forKey key: StaticString) throws -> [String]? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode([String].self)
    }
    /// Reads an entry holding an array whose elements decode themselves.
    public mutating func decode<T: CompactCodable>(_ type: [T].Type, forKey key: StaticString) throws -> [T] {
        try self.key(key)
        return try decode(type)
    }
    /// Reads an optional entry holding an array whose elements decode themselves.
    public mutating func decode<T: CompactCodable>(_ type: [T]?.Type, forKey key: StaticString) throws -> [T]? {
        guard nextKey(is: key), !decodeNil() else { return nil }
        return try decode([T].self)
    }
}
