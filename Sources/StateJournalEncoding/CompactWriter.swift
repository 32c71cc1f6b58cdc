/// Writes compact-encoded values; handed to ``CompactCodable/encode(to:)``, and valid only
/// during that call.
///
/// Objects are written as their entries come: ``beginObject()``, then a ``key(_:)`` and a value
/// per entry, then ``endObject()``; or an entry at once with `encode(_:forKey:)`, which leaves
/// out a nil optional as `encodeIfPresent` does (overloads pick the optional form by the value's
/// type, as the synthesized `Codable` conformance does). Every `encode` is `throws`, so that
/// generated code writes `try` whatever the value's type; only the `Encodable` fallback can
/// actually throw. Values of types that are not ``CompactCodable`` are written through their
/// `Encodable` conformance, as ``CompactEncoder`` would.
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
        if name.hasPointerRepresentation {
            // The usual literal: its UTF-8 in place, without a closure.
            encoding.writeVarint(UInt64(name.utf8CodeUnitCount) + 1)
            encoding.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        } else {
            name.withUTF8Buffer { utf8 in
                encoding.writeVarint(UInt64(utf8.count) + 1)
                encoding.append(contentsOf: UnsafeRawBufferPointer(utf8))
            }
        }
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

    // MARK: Entries (a key and its value; an optional left out when nil)

    /// Writes an entry.
    public mutating func encode(_ value: String, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: String?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Bool, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Bool?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Double, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Double?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Float, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Float?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Int, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Int?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Int8, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Int8?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Int16, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Int16?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Int32, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Int32?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: Int64, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: Int64?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: UInt, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: UInt?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: UInt8, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: UInt8?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: UInt16, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: UInt16?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: UInt32, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: UInt32?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry.
    public mutating func encode(_ value: UInt64, forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry, unless `value` is nil.
    public mutating func encode(_ value: UInt64?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry whose value encodes itself.
    public mutating func encode<T: CompactCodable>(_ value: T, forKey key: StaticString) throws {
        self.key(key)
        try value.encode(to: &self)
    }
    /// Writes an entry whose value encodes itself, unless `value` is nil.
    public mutating func encode<T: CompactCodable>(_ value: T?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try value.encode(to: &self)
    }
    /// Writes an entry through the value's `Encodable` conformance.
    public mutating func encode<T: Encodable>(_ value: T, forKey key: StaticString) throws {
        self.key(key)
        try encoding.encodeValue(value)
    }
    /// Writes an entry through the value's `Encodable` conformance, unless `value` is nil.
    public mutating func encode<T: Encodable>(_ value: T?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encoding.encodeValue(value)
    }

    // MARK: Arrays written element by element (the bytes of `Array`'s `Encodable` conformance)

    /// Writes an array of strings.
    public mutating func encode(_ value: [String]) throws {
        encoding.append(CompactTag.arrayStart)
        for element in value { encoding.writeString(element) }
        encoding.append(CompactTag.end)
    }
    /// Writes an array whose elements encode themselves.
    public mutating func encode<T: CompactCodable>(_ value: [T]) throws {
        encoding.append(CompactTag.arrayStart)
        for element in value { try element.encode(to: &self) }
        encoding.append(CompactTag.end)
    }
    /// Writes an entry holding an array of strings.
    public mutating func encode(_ value: [String], forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry holding an array of strings, unless `value` is nil.
    public mutating func encode(_ value: [String]?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
    /// Writes an entry holding an array whose elements encode themselves.
    public mutating func encode<T: CompactCodable>(_ value: [T], forKey key: StaticString) throws {
        self.key(key)
        try encode(value)
    }
    /// Writes an entry holding an array whose elements encode themselves, unless `value` is nil.
    public mutating func encode<T: CompactCodable>(_ value: [T]?, forKey key: StaticString) throws {
        guard let value else { return }
        self.key(key)
        try encode(value)
    }
}
