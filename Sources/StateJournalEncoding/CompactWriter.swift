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
