/// Encodes `Encodable` values in the compact encoding: self-describing,
/// canonical (the same value gives the same bytes in every OS process: keys in
/// the order `encode(to:)` writes them, the elements of every `Set` and the
/// entries of every `Dictionary` sorted by their encoded bytes, one bit
/// pattern for NaN), and fast.
///
/// ```swift
/// let bytes = try CompactEncoder().encode(event)
/// let event = try CompactDecoder().decode(Event.self, from: bytes)
/// ```
///
/// Values are streamed into one buffer as they are encoded. A nested
/// container must be filled before its parent is written to again; a type
/// that interleaves writes to two containers gets an `EncodingError` (no
/// synthesized `Codable` conformance does that).
public struct CompactEncoder: Sendable {
    /// The encoder; it has no settings.
    public init() {}

    /// The value's bytes.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(value, into: &bytes)
        return bytes
    }

    /// Appends the value's bytes to `bytes` (reuse one buffer to avoid allocations).
    public func encode<T: Encodable>(_ value: T, into bytes: inout [UInt8]) throws {
        let encoder = CompactEncoding(bytes: bytes)
        bytes = []
        defer { bytes = encoder.bytes }
        try encoder.encodeValue(value)
    }
}

/// A compact encoder that keeps its buffers between values: the fastest way
/// to encode many values on one thread (or one actor). Not `Sendable`.
package final class CompactEncodingSession {
    private let encoding = CompactEncoding(bytes: [])

    package init() {}

    /// The value's bytes.
    package func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        encoding.reset()
        try encoding.encodeValue(value)
        return encoding.bytes
    }

    /// Encodes the value and hands its bytes to `body` without copying them.
    package func withEncoded<T: Encodable, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        encoding.reset()
        try encoding.encodeValue(value)
        return try encoding.bytes.withUnsafeBytes(body)
    }
}

/// The encoder's state: the output and the open containers.
final class CompactEncoding: Encoder {
    // The encoding runs on one thread from start to end; the dynamic
    // exclusivity checks on these hot fields cost more than the encoding.
    @exclusivity(unchecked) var bytes: [UInt8]
    /// Ids of the open containers, innermost last.
    @exclusivity(unchecked) private var open: [Int] = []
    /// The byte that ends each open container (`end` for an array, `objectEnd` for an object).
    @exclusivity(unchecked) private var openEnds: [UInt8] = []
    @exclusivity(unchecked) private var nextID = 0
    /// Per `encode(to:)` call in progress: the open-stack depth at its start and the container it opened.
    @exclusivity(unchecked) private var slots: [(depth: Int, container: Int?, wroteSingle: Bool)] = []

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.bytes.reserveCapacity(256)
        open.reserveCapacity(8)
        openEnds.reserveCapacity(8)
        slots.reserveCapacity(8)
    }

    /// Starts a new value, keeping the buffers' capacity.
    func reset() {
        bytes.removeAll(keepingCapacity: true)
        open.removeAll(keepingCapacity: true)
        openEnds.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        nextID = 0
    }

    // MARK: Values

    @inline(__always)
    func encodeValue<T: Encodable>(_ value: T) throws {
        // Type comparisons, not dynamic casts: the common leaves cost a pointer compare.
        if T.self == String.self {
            writeString(unsafeBitCast(value, to: String.self))
            return
        }
        if T.self == Int.self {
            writeSigned(Int64(unsafeBitCast(value, to: Int.self)))
            return
        }
        if T.self == Bool.self {
            bytes.append(unsafeBitCast(value, to: Bool.self) ? CompactTag.true : CompactTag.false)
            return
        }
        if T.self == Double.self {
            writeDouble(unsafeBitCast(value, to: Double.self))
            return
        }
        if T.self == Int64.self {
            writeSigned(unsafeBitCast(value, to: Int64.self))
            return
        }
        if T.self == UInt64.self {
            writeUnsigned(unsafeBitCast(value, to: UInt64.self))
            return
        }
        switch value {
        case let v as any CompactCanonicalEncodable:
            try v.encodeCanonical(into: self)
            markSingle()
        default:
            slots.append((open.count, nil, false))
            try value.encode(to: self)
            let slot = slots.removeLast()
            if slot.container == nil && !slot.wroteSingle {
                // The value wrote nothing: an empty object, as JSON would.
                bytes.append(CompactTag.objectStart)
                bytes.append(CompactTag.objectEnd)
            }
            try close(to: slot.depth)
        }
    }

    /// Writes the end tags of containers opened deeper than `depth`.
    private func close(to depth: Int) throws {
        while open.count > depth { closeInnermost() }
    }

    /// Makes container `id` the innermost open one before it is written to.
    @inline(__always)
    func prepare(_ id: Int) throws {
        if open.last == id { return }
        guard let index = open.lastIndex(of: id) else {
            throw EncodingError.invalidValue(
                id,
                .init(
                    codingPath: [],
                    debugDescription: "compact encoding: a container was written to after a sibling or parent moved on")
            )
        }
        while open.count > index + 1 { closeInnermost() }
    }

    /// Ends the innermost open container.
    func closeInnermost() {
        open.removeLast()
        bytes.append(openEnds.removeLast())
    }

    func openContainer(_ tag: UInt8) -> Int {
        nextID += 1
        bytes.append(tag)
        open.append(nextID)
        openEnds.append(tag == CompactTag.objectStart ? CompactTag.objectEnd : CompactTag.end)
        return nextID
    }

    /// The container of the value being encoded (one per value, as Codable expects).
    func slotContainer(_ tag: UInt8) -> Int {
        if let index = slots.indices.last, let existing = slots[index].container { return existing }
        let id = openContainer(tag)
        if let index = slots.indices.last { slots[index].container = id }
        return id
    }

    func markSingle() {
        if let index = slots.indices.last { slots[index].wroteSingle = true }
    }

    @inline(__always)
    func writeVarint(_ value: UInt64) { bytes.appendVarint(value) }

    @inline(__always)
    func writeUnsigned(_ value: UInt64) {
        if value < 0x80 {
            bytes.append(CompactTag.smallUnsigned | UInt8(value))
        } else {
            bytes.append(CompactTag.unsigned)
            writeVarint(value)
        }
    }

    @inline(__always)
    func writeSigned(_ value: Int64) {
        if value >= 0 && value < 0x80 {
            bytes.append(CompactTag.smallUnsigned | UInt8(value))
        } else {
            bytes.append(CompactTag.signed)
            writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        }
    }

    /// -0.0 keeps its sign; every NaN is written as the canonical quiet NaN.
    @inline(__always)
    func writeDouble(_ value: Double) {
        bytes.append(CompactTag.double)
        bytes.appendLE(value.isNaN ? CompactTag.canonicalDoubleNaN : value.bitPattern)
    }

    @inline(__always)
    func writeFloat(_ value: Float) {
        bytes.append(CompactTag.float)
        bytes.appendLE(value.isNaN ? CompactTag.canonicalFloatNaN : value.bitPattern)
    }

    @inline(__always)
    func writeString(_ value: String) {
        bytes.append(CompactTag.string)
        writeUTF8(value)
    }

    /// An object key: LEB128(byte count + 1), then the UTF-8 (never a lone 0x00, the object's end).
    @inline(__always)
    func writeKey(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count) + 1)
            bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always)
    func writeUTF8(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    // MARK: Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(CompactKeyedEncoder<Key>(encoding: self, id: slotContainer(CompactTag.objectStart)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        CompactUnkeyedEncoder(encoding: self, id: slotContainer(CompactTag.arrayStart))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        CompactSingleEncoder(encoding: self)
    }
}

struct CompactKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoding: CompactEncoding
    let id: Int
    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    private func key(_ key: Key) throws {
        try encoding.prepare(id)
        encoding.writeKey(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try self.key(key)
        encoding.bytes.append(CompactTag.null)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try self.key(key)
        encoding.bytes.append(value ? CompactTag.true : CompactTag.false)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try self.key(key)
        encoding.writeString(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try self.key(key)
        encoding.writeDouble(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try self.key(key)
        encoding.writeFloat(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        try self.key(key)
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        try self.key(key)
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        try self.key(key)
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        try self.key(key)
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        try self.key(key)
        encoding.writeSigned(value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        try self.key(key)
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        try self.key(key)
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        try self.key(key)
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        try self.key(key)
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        try self.key(key)
        encoding.writeUnsigned(value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try self.key(key)
        try encoding.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        try? self.key(key)
        return KeyedEncodingContainer(
            CompactKeyedEncoder<NestedKey>(encoding: encoding, id: encoding.openContainer(CompactTag.objectStart)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        try? self.key(key)
        return CompactUnkeyedEncoder(encoding: encoding, id: encoding.openContainer(CompactTag.arrayStart))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        try? self.key(key)
        return CompactNestedEncoder(encoding: encoding)
    }
}

struct CompactUnkeyedEncoder: UnkeyedEncodingContainer {
    let encoding: CompactEncoding
    let id: Int
    var codingPath: [any CodingKey] { [] }
    var count = 0

    @inline(__always)
    private mutating func element() throws {
        try encoding.prepare(id)
        count += 1
    }

    mutating func encodeNil() throws {
        try element()
        encoding.bytes.append(CompactTag.null)
    }
    mutating func encode(_ value: Bool) throws {
        try element()
        encoding.bytes.append(value ? CompactTag.true : CompactTag.false)
    }
    mutating func encode(_ value: String) throws {
        try element()
        encoding.writeString(value)
    }
    mutating func encode(_ value: Double) throws {
        try element()
        encoding.writeDouble(value)
    }
    mutating func encode(_ value: Float) throws {
        try element()
        encoding.writeFloat(value)
    }
    mutating func encode(_ value: Int) throws {
        try element()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int8) throws {
        try element()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int16) throws {
        try element()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int32) throws {
        try element()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int64) throws {
        try element()
        encoding.writeSigned(value)
    }
    mutating func encode(_ value: UInt) throws {
        try element()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt8) throws {
        try element()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt16) throws {
        try element()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt32) throws {
        try element()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt64) throws {
        try element()
        encoding.writeUnsigned(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try element()
        try encoding.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        try? element()
        return KeyedEncodingContainer(
            CompactKeyedEncoder<NestedKey>(encoding: encoding, id: encoding.openContainer(CompactTag.objectStart)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        try? element()
        return CompactUnkeyedEncoder(encoding: encoding, id: encoding.openContainer(CompactTag.arrayStart))
    }

    mutating func superEncoder() -> any Encoder {
        try? element()
        return CompactNestedEncoder(encoding: encoding)
    }
}

struct CompactSingleEncoder: SingleValueEncodingContainer {
    let encoding: CompactEncoding
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws {
        encoding.markSingle()
        encoding.bytes.append(CompactTag.null)
    }
    mutating func encode(_ value: Bool) throws {
        encoding.markSingle()
        encoding.bytes.append(value ? CompactTag.true : CompactTag.false)
    }
    mutating func encode(_ value: String) throws {
        encoding.markSingle()
        encoding.writeString(value)
    }
    mutating func encode(_ value: Double) throws {
        encoding.markSingle()
        encoding.writeDouble(value)
    }
    mutating func encode(_ value: Float) throws {
        encoding.markSingle()
        encoding.writeFloat(value)
    }
    mutating func encode(_ value: Int) throws {
        encoding.markSingle()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int8) throws {
        encoding.markSingle()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int16) throws {
        encoding.markSingle()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int32) throws {
        encoding.markSingle()
        encoding.writeSigned(Int64(value))
    }
    mutating func encode(_ value: Int64) throws {
        encoding.markSingle()
        encoding.writeSigned(value)
    }
    mutating func encode(_ value: UInt) throws {
        encoding.markSingle()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt8) throws {
        encoding.markSingle()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt16) throws {
        encoding.markSingle()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt32) throws {
        encoding.markSingle()
        encoding.writeUnsigned(UInt64(value))
    }
    mutating func encode(_ value: UInt64) throws {
        encoding.markSingle()
        encoding.writeUnsigned(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        encoding.markSingle()
        try encoding.encodeValue(value)
    }
}

/// The encoder handed to `superEncoder()`: encodes one value in place.
struct CompactNestedEncoder: Encoder {
    let encoding: CompactEncoding
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(
            CompactKeyedEncoder<Key>(encoding: encoding, id: encoding.openContainer(CompactTag.objectStart)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        CompactUnkeyedEncoder(encoding: encoding, id: encoding.openContainer(CompactTag.arrayStart))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { CompactSingleEncoder(encoding: encoding) }
}
