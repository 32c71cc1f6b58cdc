@_spi(Bytes) import StateJournalSystem

/// Encodes `Encodable` values in the compact encoding: self-describing,
/// canonical (the same value gives the same bytes in every OS process: keys in
/// the order `encode(to:)` writes them, each once with the last value written
/// for it, as Foundation's encoders keep it, the elements of every `Set` and the
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
        try CompactEncoding.withReusable { encoding in
            try encoding.encodeValue(value)
            return encoding.makeArray()
        }
    }

    /// Appends the value's bytes to `bytes`.
    public func encode<T: Encodable>(_ value: T, into bytes: inout [UInt8]) throws {
        try CompactEncoding.withReusable { encoding in
            try encoding.encodeValue(value)
            bytes.append(contentsOf: encoding.output)
        }
    }

    /// The value's bytes, written by `conformance`, `T`'s own ``CompactCodable`` conformance
    /// (a codec that looked it up once passes it).
    package func encode<T: Encodable>(_ value: T, conformance: any CompactCodable.Type) throws -> [UInt8] {
        try CompactEncoding.withReusable { encoding in
            var writer = CompactWriter(encoding)
            try withUnsafePointer(to: value) { try conformance.encodeCompact(at: $0, to: &writer) }
            return encoding.makeArray()
        }
    }

    /// Encodes the value and hands its bytes to `body` without copying them; the bytes are
    /// valid only inside `body`.
    public func withEncoded<T: Encodable, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try CompactEncoding.withReusable { encoding in
            try encoding.encodeValue(value)
            return try body(encoding.output)
        }
    }
}

/// A compact encoder that keeps its buffers between values: the fastest way
/// to encode many values on one thread (or one actor). Not `Sendable`.
package final class CompactEncodingSession {
    private let encoding = CompactEncoding()

    package init() {}

    /// The value's bytes.
    package func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        encoding.reset()
        try encoding.encodeValue(value)
        return encoding.makeArray()
    }

    /// Encodes the value and hands its bytes to `body` without copying them.
    package func withEncoded<T: Encodable, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        encoding.reset()
        try encoding.encodeValue(value)
        return try body(encoding.output)
    }
}

/// An entry written to an open object: where it starts in the output, where its key's UTF-8
/// starts, and a fingerprint of the key (its length, first and last bytes: keys that differ there
/// differ, and the others are compared byte by byte).
struct WrittenEntry {
    var start: Int
    var keyStart: Int
    let fingerprint: UInt64

    @inline(__always)
    static func fingerprint(_ key: UnsafeRawBufferPointer) -> UInt64 {
        guard let first = key.first, let last = key.last else { return 0 }
        return UInt64(truncatingIfNeeded: key.count) << 16 | UInt64(first) << 8 | UInt64(last)
    }

    /// True when the key at `keyStart` of `output` has the bytes of `key` (the fingerprints agree,
    /// and with them the lengths up to 2^48 bytes).
    @inline(__always)
    func keyMatches(_ key: UnsafeRawBufferPointer, in output: UnsafeMutablePointer<UInt8>) -> Bool {
        key.count <= 2 || compareBytes(output + keyStart, key.baseAddress!, count: key.count) == 0
    }
}

/// One `CompactEncoding` kept per thread between calls of `CompactEncoder`: a new one costs five
/// allocations (itself, its output and three stacks), more than encoding a small value.
private let reusableEncodings = ThreadLocalObject<CompactEncoding>()

/// The encoder's state: the output and the open containers.
final class CompactEncoding: Encoder {
    // The encoding runs on one thread from start to end; the dynamic
    // exclusivity checks on these hot fields cost more than the encoding.
    /// The output, in a buffer of its own: `Array.append` checks uniqueness and capacity per byte.
    @exclusivity(unchecked) private var base: UnsafeMutablePointer<UInt8>
    /// Bytes written to `base`.
    @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) private var capacity: Int
    /// Ids of the open containers, innermost last.
    @exclusivity(unchecked) private var open: [Int] = []
    /// The byte that ends each open container (`end` for an array, `objectEnd` for an object).
    @exclusivity(unchecked) private var openEnds: [UInt8] = []
    @exclusivity(unchecked) private var nextID = 0
    /// The entries written so far to the open objects, innermost object's last (`entryCount` of
    /// them, in a buffer of its own as the output is): a key written twice to one object keeps its
    /// last value, as Foundation's encoders do (`writeKey`).
    @exclusivity(unchecked) private var entries: UnsafeMutablePointer<WrittenEntry>
    @exclusivity(unchecked) private var entryCount = 0
    @exclusivity(unchecked) private var entryCapacity = 16  // as allocated by `init`
    /// Per open container: where its entries begin in `entries`.
    @exclusivity(unchecked) private var entryBases: [Int] = []
    /// Per `encode(to:)` call in progress: the open-stack depth at its start and the container it opened.
    @exclusivity(unchecked) private var slots: [(depth: Int, container: Int?, wroteSingle: Bool)] = []
    /// Types recently found not to be `CompactCanonicalEncodable` (kept across values).
    @exclusivity(unchecked) private var plainTypes = InlineTypeSet()
    /// Types recently found to be `CompactCanonicalEncodable` (kept across values).
    @exclusivity(unchecked) private var canonicalTypes = InlineTypeSet()

    /// A kept encoding's buffer beyond this size is given back rather than kept for the next value.
    private static let keptCapacity = 64 * 1024

    /// Runs `body` with this thread's kept encoding, reset (or a new one when it is in use).
    static func withReusable<R>(_ body: (CompactEncoding) throws -> R) rethrows -> R {
        let encoding: CompactEncoding
        if let kept = reusableEncodings.take() {
            encoding = kept
            encoding.reset()
        } else {
            encoding = CompactEncoding()
        }
        defer { if encoding.capacity <= keptCapacity { reusableEncodings.put(encoding) } }
        return try body(encoding)
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(capacity: Int = 256) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
        entries = .allocate(capacity: 16)
        open.reserveCapacity(8)
        openEnds.reserveCapacity(8)
        slots.reserveCapacity(8)
        entryBases.reserveCapacity(8)
    }

    deinit {
        base.deallocate()
        entries.deallocate()
    }

    /// The bytes written so far; valid until the next write.
    var output: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// The bytes written so far, as an array of their exact size.
    func makeArray() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.initialize(from: base, count: count) }
            initialized = count
        }
    }

    /// Starts a new value, keeping the buffers' capacity.
    func reset() {
        count = 0
        entryCount = 0
        nextID = 0
        // A value encoded to its end leaves these empty; emptying an empty array still costs a
        // generic call each (about a fifth of encoding a small `@CompactCodable` value).
        if !open.isEmpty { open.removeAll(keepingCapacity: true) }
        if !openEnds.isEmpty { openEnds.removeAll(keepingCapacity: true) }
        if !slots.isEmpty { slots.removeAll(keepingCapacity: true) }
        if !entryBases.isEmpty { entryBases.removeAll(keepingCapacity: true) }
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
            append(unsafeBitCast(value, to: Bool.self) ? CompactTag.true : CompactTag.false)
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
        // A cast to `any CompactCanonicalEncodable` is a conformance lookup (about a tenth of
        // encoding a small struct); the types last found not to conform are remembered, and so
        // are the canonical ones (a `Set` or `Dictionary` is never `CompactCodable`).
        let type = ObjectIdentifier(T.self)
        let knownPlain = plainTypes.contains(type)
        if !knownPlain, !canonicalTypes.contains(type), let fast = T.self as? any CompactCodable.Type {
            // Its own `encode(to:)` writes the bytes `Codable` would, without a container.
            var writer = CompactWriter(self)
            try withUnsafePointer(to: value) { try fast.encodeCompact(at: $0, to: &writer) }
            markSingle()
        } else if !knownPlain, let v = value as? any CompactCanonicalEncodable {
            if !canonicalTypes.contains(type) { canonicalTypes.insert(type) }
            try v.encodeCanonical(into: self)
            markSingle()
        } else {
            if !knownPlain { plainTypes.insert(type) }
            slots.append((open.count, nil, false))
            try value.encode(to: self)
            let slot = slots.removeLast()
            if slot.container == nil && !slot.wroteSingle {
                // The value wrote nothing: an empty object, as JSON would.
                append(CompactTag.objectStart)
                append(CompactTag.objectEnd)
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
        entryCount = entryBases.removeLast()
        append(openEnds.removeLast())
    }

    func openContainer(_ tag: UInt8) -> Int {
        nextID += 1
        append(tag)
        open.append(nextID)
        entryBases.append(entryCount)
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

    // MARK: Output

    @inline(__always)
    private func reserve(_ needed: Int) {
        if capacity - count < needed { grow(needed) }
    }

    @inline(never)
    private func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, count + needed)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(contentsOf bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    func appendLE<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    @inline(__always)
    func writeVarint(_ value: UInt64) {
        reserve(10)
        var value = value
        while value >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: value) | 0x80
            count += 1
            value >>= 7
        }
        base[count] = UInt8(value)
        count += 1
    }

    @inline(__always)
    func writeUnsigned(_ value: UInt64) {
        if value < 0x80 {
            append(CompactTag.smallUnsigned | UInt8(value))
        } else {
            append(CompactTag.unsigned)
            writeVarint(value)
        }
    }

    @inline(__always)
    func writeSigned(_ value: Int64) {
        if value >= 0 && value < 0x80 {
            append(CompactTag.smallUnsigned | UInt8(value))
        } else {
            append(CompactTag.signed)
            writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        }
    }

    /// -0.0 keeps its sign; every NaN is written as the canonical quiet NaN.
    @inline(__always)
    func writeDouble(_ value: Double) {
        append(CompactTag.double)
        appendLE(value.isNaN ? CompactTag.canonicalDoubleNaN : value.bitPattern)
    }

    @inline(__always)
    func writeFloat(_ value: Float) {
        append(CompactTag.float)
        appendLE(value.isNaN ? CompactTag.canonicalFloatNaN : value.bitPattern)
    }

    @inline(__always)
    func writeString(_ value: String) {
        append(CompactTag.string)
        writeUTF8(value)
    }

    /// An object key of the innermost open container, an object: LEB128(byte count + 1), then the
    /// UTF-8 (never a lone 0x00, the object's end). When the object holds this key already, that
    /// entry is taken out first: the last value written for a key is the one kept, as with
    /// Foundation's encoders, and an object never holds a key twice (a decoder would read the first).
    @inline(__always)
    func writeKey(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            let key = UnsafeRawBufferPointer(utf8)
            let fingerprint = WrittenEntry.fingerprint(key)
            var index = entryBases.last ?? entryCount
            while index < entryCount {
                if entries[index].fingerprint == fingerprint && entries[index].keyMatches(key, in: base) {
                    removeEntry(at: index)
                    break
                }
                index += 1
            }
            if entryCount == entryCapacity { growEntries() }
            let start = count
            writeVarint(UInt64(utf8.count) + 1)
            (entries + entryCount).initialize(
                to: WrittenEntry(start: start, keyStart: count, fingerprint: fingerprint))
            entryCount += 1
            append(contentsOf: key)
        }
    }

    /// Takes the entry `index` of the innermost object out of the output: its bytes run to the next
    /// entry's start, or to the end (its value, with anything nested in it, is complete).
    @inline(never)
    private func removeEntry(at index: Int) {
        let start = entries[index].start
        let end = index + 1 < entryCount ? entries[index + 1].start : count
        let removed = end - start
        (base + start).update(from: base + end, count: count - end)
        count -= removed
        for later in (index + 1)..<entryCount {
            entries[later - 1] = entries[later]
            entries[later - 1].start -= removed
            entries[later - 1].keyStart -= removed
        }
        entryCount -= 1
    }

    @inline(never)
    private func growEntries() {
        let grown = UnsafeMutablePointer<WrittenEntry>.allocate(capacity: entryCapacity * 2)
        grown.moveInitialize(from: entries, count: entryCount)
        entries.deallocate()
        entries = grown
        entryCapacity *= 2
    }

    @inline(__always)
    func writeUTF8(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            append(contentsOf: UnsafeRawBufferPointer(utf8))
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
        encoding.append(CompactTag.null)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try self.key(key)
        encoding.append(value ? CompactTag.true : CompactTag.false)
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
        encoding.append(CompactTag.null)
    }
    mutating func encode(_ value: Bool) throws {
        try element()
        encoding.append(value ? CompactTag.true : CompactTag.false)
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
        encoding.append(CompactTag.null)
    }
    mutating func encode(_ value: Bool) throws {
        encoding.markSingle()
        encoding.append(value ? CompactTag.true : CompactTag.false)
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

/// The last four type identities inserted, held inline (no allocation), for the encoder's
/// conformance cache: an insert replaces the oldest.
struct InlineTypeSet {
    private var slots: (ObjectIdentifier?, ObjectIdentifier?, ObjectIdentifier?, ObjectIdentifier?) = (
        nil, nil, nil, nil
    )

    @inline(__always)
    func contains(_ type: ObjectIdentifier) -> Bool {
        slots.0 == type || slots.1 == type || slots.2 == type || slots.3 == type
    }

    mutating func insert(_ type: ObjectIdentifier) {
        slots = (type, slots.0, slots.1, slots.2)
    }
}
