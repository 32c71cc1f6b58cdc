@_spi(Bytes) import StateJournalSystem

/// Decodes values written by ``CompactEncoder``, and values of the first
/// compact encoding (objects tagged `0x09`, read through ``CompactLegacy``).
///
/// Bad input never traps: a malformed value is a `DecodingError` whose
/// description gives the byte offset. The whole value is checked, so trailing
/// bytes or a torn value are refused even where the type would not read that
/// far: an object is decoded first and the part of it that the decoding did
/// not read is checked after (a value comes back only when all of it is well
/// formed); anything else is checked before it is decoded.
public struct CompactDecoder: Sendable {
    /// The decoder; it has no settings.
    public init() {}

    /// Decodes a `T` from `bytes`, which must hold exactly one compact value.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes from a borrowed buffer (such as a message handed out by `JournalReader.forEachMessage`).
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        if let fast = NotCompactCodable.conformance(of: T.self) {
            return try decode(type, from: bytes, conformance: fast)
        }
        return try decodeThroughCodable(type, from: bytes)
    }

    /// Decodes with `conformance`, `T`'s own (a codec that looked it up once passes it): the
    /// type's ``CompactCodable/init(from:)`` first, `Codable` when it refuses the bytes.
    package func decode<T: Decodable>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, conformance: any CompactCodable.Type
    ) throws -> T {
        try Self.checkSize(bytes)
        // No `T?` on this path: the metadata of an optional of a generic type is looked up on
        // every call (measured: a seventh of decoding a small struct).
        return try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer throws -> T in
            if Self.decodeDirectly(conformance, into: buffer.baseAddress!, from: bytes) {
                return buffer.baseAddress!.move()
            }
            return try decodeThroughCodable(type, from: bytes)
        }
    }

    /// Decodes through `Decodable`, the whole value checked (a codec that found `T` has no
    /// ``CompactCodable`` conformance calls it directly).
    ///
    /// An object is decoded first and checked after: what the decoding read in order was checked
    /// as it was read, so only the rest of the object is skipped (``CompactDecodingContext``).
    /// Anything else, and every object that fails, takes the slow path: the whole value checked,
    /// then decoded; it gives the same value or the same error as checking first would.
    package func decodeThroughCodable<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try Self.checkSize(bytes)
        if bytes.first == CompactTag.objectStart {
            var context = CompactDecodingContext(bytes: bytes)
            do {
                let value = try withUnsafeMutablePointer(to: &context) {
                    try CompactDecoding(context: $0, position: 0).decodeValue(type, depth: 0)
                }
                if context.restIsWellFormed() {
                    try context.requireReadableKeys()
                    return value
                }
            } catch {
                // The slow path gives the error (or, for an object of the first encoding, the value).
            }
        }
        return try decodeCheckingFirst(type, from: bytes)
    }

    /// Checks the whole value, then decodes it.
    private func decodeCheckingFirst<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        var cursor = CompactCursor(bytes, position: 0)
        do {
            try cursor.skipValue()
        } catch let error where error.isLegacyObject {
            let upgraded = try Self.rethrowing { try CompactLegacy.upgrade(bytes) }
            return try upgraded.withUnsafeBytes { try CompactDecoding.decode(type, from: $0, position: 0, depth: 0) }
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: error.description, underlyingError: error))
        }
        if !cursor.atEnd {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [],
                    debugDescription: "compact value followed by \(bytes.count - cursor.position) extra bytes"))
        }
        return try CompactDecoding.decode(type, from: bytes, position: 0, depth: 0)
    }

    /// Positions inside a value are kept in 32 bits.
    @inline(__always)
    private static func checkSize(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count < Int(Int32.max) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "a compact value of \(bytes.count) bytes is larger than 2 GiB"))
        }
    }

    /// Decodes with the type's own ``CompactCodable/init(from:)`` into `pointer`: false, with
    /// `pointer` left uninitialized, when it throws or leaves bytes unread (the value is then
    /// decoded through `Codable`, which gives the value or the error).
    private static func decodeDirectly<T>(
        _ fast: any CompactCodable.Type, into pointer: UnsafeMutablePointer<T>, from bytes: UnsafeRawBufferPointer
    ) -> Bool {
        var reader = CompactReader(bytes)
        do { try fast.decodeCompact(into: pointer, from: &reader) } catch { return false }
        if reader.cursor.atEnd { return true }
        pointer.deinitialize(count: 1)
        return false
    }

    /// Checks that `bytes` hold exactly one well-formed compact value: its
    /// structure, every string and key valid UTF-8, nothing after it (either
    /// encoding; a first-encoding value must have exactly one reading).
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(CompactFormatError) {
        var cursor = CompactCursor(bytes, position: 0)
        do {
            try cursor.skipValue(validatingUTF8: true)
        } catch  where error.isLegacyObject {
            let upgraded = try CompactLegacy.upgrade(bytes)
            var result: CompactFormatError?
            upgraded.withUnsafeBytes { raw in
                var cursor = CompactCursor(raw, position: 0)
                do throws(CompactFormatError) { try cursor.skipValue(validatingUTF8: true) } catch { result = error }
            }
            if let result { throw result }
            return
        }
        if !cursor.atEnd { throw cursor.fail("\(bytes.count - cursor.position) bytes after the value") }
    }

    /// Turns a ``CompactFormatError`` into the `DecodingError` that `Decodable` expects.
    @inline(__always)
    static func rethrowing<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch let error as CompactFormatError {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: error.description, underlyingError: error))
        }
    }
}

/// What one decoding of an object shares: the bytes, and how far the top-level object's entries
/// were checked by the reads of the decoding (each read checks the value it reads, each skip the
/// values it skips). After a decoding that succeeded only the rest is skipped, not the whole value.
struct CompactDecodingContext {
    /// How the checked part of the top-level object ends.
    enum Checked: UInt8 {
        /// Nothing recorded: the whole value is to be checked.
        case nothing
        /// `checkedTo` is where an entry (or the object's end tag) starts.
        case entry
        /// `checkedTo` is where the value of an entry whose key was read starts.
        case value
        /// The whole object was checked; `checkedTo` is just after it.
        case end
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var checkedTo = 0
    private(set) var checked = Checked.nothing
    /// The offset of a key that `allKeys` met and could not make a string of (it cannot throw):
    /// the decoding is then an error, not a value without that entry.
    var unreadableKey: Int?

    /// Throws when the decoding met a key that is not UTF-8.
    func requireReadableKeys() throws {
        if let unreadableKey {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [],
                    debugDescription: "malformed compact value at byte \(unreadableKey): a key is not valid UTF-8"))
        }
    }

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Records that the top-level object was checked up to `position`, when that is further than before.
    @inline(__always)
    mutating func record(_ position: Int, _ kind: Checked) {
        if position > checkedTo {
            checkedTo = position
            checked = kind
        }
    }

    /// Skips the part of the top-level object not checked yet: true when it is well formed and
    /// nothing follows the object.
    func restIsWellFormed() -> Bool {
        var cursor = CompactCursor(bytes, position: checkedTo)
        do {
            switch checked {
            case .nothing: try cursor.skipValue()
            case .entry, .value:
                if checked == .value { try cursor.skipValue(depth: 1) }
                while try cursor.objectKey() != nil { try cursor.skipValue(depth: 1) }
            case .end: break
            }
        } catch {
            return false
        }
        return cursor.atEnd
    }
}

/// A decoder positioned at one value. Small enough (14 bytes) to live inline
/// in an `any Decoder` existential: handing it to `init(from:)` allocates nothing.
struct CompactDecoding: Decoder {
    /// Valid while the decoding runs, as the bytes are.
    let context: UnsafeMutablePointer<CompactDecodingContext>
    private let storedPosition: Int32
    private var storedDepth: UInt16
    var bytes: UnsafeRawBufferPointer { context.pointee.bytes }
    var position: Int { Int(storedPosition) }
    var depth: Int {
        get { Int(storedDepth) }
        set { storedDepth = UInt16(clamping: newValue) }
    }
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(context: UnsafeMutablePointer<CompactDecodingContext>, position: Int, depth: Int = 0) {
        self.context = context
        self.storedPosition = Int32(truncatingIfNeeded: position)
        self.storedDepth = UInt16(clamping: depth)
    }

    /// Decodes the value at `position` of `bytes` (checked already, or checked by the caller).
    static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer, position: Int, depth: Int)
        throws -> T
    {
        var context = CompactDecodingContext(bytes: bytes)
        let value = try withUnsafeMutablePointer(to: &context) {
            try CompactDecoding(context: $0, position: position).decodeValue(type, depth: depth)
        }
        try context.requireReadableKeys()
        return value
    }

    func decodeValue<T: Decodable>(_ type: T.Type, depth: Int) throws -> T {
        guard depth <= CompactTag.maxDepth else {
            throw Self.corrupt(position, "nesting deeper than \(CompactTag.maxDepth)")
        }
        var cursor = CompactCursor(bytes, position: position)
        // Type comparisons (a pointer compare), not metatype casts.
        if T.self == String.self { return unsafeBitCast(try cursor.readString(), to: T.self) }
        if T.self == Int.self { return unsafeBitCast(try cursor.readInteger(Int.self), to: T.self) }
        if T.self == Bool.self { return unsafeBitCast(try cursor.readBool(), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try cursor.readDouble(), to: T.self) }
        var nested = self
        nested.depth = depth
        return try T(from: nested)
    }

    static func corrupt(_ offset: Int, _ reason: String) -> DecodingError {
        DecodingError.dataCorrupted(
            .init(codingPath: [], debugDescription: "malformed compact value at byte \(offset): \(reason)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        var cursor = CompactCursor(bytes, position: position)
        let tag = try CompactDecoder.rethrowing { try cursor.byte() }
        guard tag == CompactTag.objectStart else {
            throw DecodingError.typeMismatch(
                [String: Any].self,
                .init(codingPath: [], debugDescription: "expected an object at byte \(position), found tag \(hex(tag))")
            )
        }
        return KeyedDecodingContainer(
            CompactKeyedDecoder<Key>(context: context, entries: cursor.position, depth: depth + 1))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        var cursor = CompactCursor(bytes, position: position)
        let tag = try CompactDecoder.rethrowing { try cursor.byte() }
        guard tag == CompactTag.arrayStart else {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: [], debugDescription: "expected an array at byte \(position), found tag \(hex(tag))"))
        }
        return try CompactUnkeyedDecoder(context: context, cursor: cursor, depth: depth + 1)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        CompactSingleDecoder(context: context, position: position, depth: depth)
    }
}

extension CompactCursor {
    mutating func readBool() throws -> Bool {
        let at = position
        switch try CompactDecoder.rethrowing({ try byte() }) {
        case CompactTag.true: return true
        case CompactTag.false: return false
        case let tag:
            throw DecodingError.typeMismatch(
                Bool.self,
                .init(codingPath: [], debugDescription: "expected a Bool at byte \(at), found tag \(hex(tag))"))
        }
    }

    mutating func readInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let at = position
        let tag = try CompactDecoder.rethrowing { try byte() }
        let result: T?
        if tag >= CompactTag.smallUnsigned {
            result = T(exactly: tag & 0x7F)
        } else if tag == CompactTag.unsigned {
            result = T(exactly: try CompactDecoder.rethrowing { try varint() })
        } else if tag == CompactTag.signed {
            let raw = try CompactDecoder.rethrowing { try varint() }
            result = T(exactly: Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        } else {
            throw DecodingError.typeMismatch(
                T.self,
                .init(codingPath: [], debugDescription: "expected an integer at byte \(at), found tag \(hex(tag))"))
        }
        guard let result else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "the integer at byte \(at) does not fit \(T.self)"))
        }
        return result
    }

    mutating func readDouble() throws -> Double {
        let at = position
        let tag = try CompactDecoder.rethrowing { try peek() }
        switch tag {
        case CompactTag.double:
            position += 1
            return Double(bitPattern: try CompactDecoder.rethrowing { try fixed(UInt64.self) })
        case CompactTag.float:
            position += 1
            return Double(Float(bitPattern: try CompactDecoder.rethrowing { try fixed(UInt32.self) }))
        case CompactTag.signed, CompactTag.unsigned, CompactTag.smallUnsigned...:
            if tag == CompactTag.unsigned || tag >= CompactTag.smallUnsigned {
                return Double(try readInteger(UInt64.self))
            }
            return Double(try readInteger(Int64.self))
        default:
            throw DecodingError.typeMismatch(
                Double.self,
                .init(codingPath: [], debugDescription: "expected a number at byte \(at), found tag \(hex(tag))"))
        }
    }

    mutating func readString() throws -> String {
        let at = position
        let tag = try CompactDecoder.rethrowing { try byte() }
        guard tag == CompactTag.string else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(codingPath: [], debugDescription: "expected a string at byte \(at), found tag \(hex(tag))"))
        }
        let range = try CompactDecoder.rethrowing { try utf8Run() }
        let run = UnsafeRawBufferPointer(rebasing: bytes[range])
        // ASCII needs no repair: no second look at the string made.
        if isASCII(run) { return String(decoding: run.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        guard let string = String(validUTF8: run) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "the string at byte \(at) is not valid UTF-8"))
        }
        return string
    }

    mutating func readNil() throws -> Bool {
        if try CompactDecoder.rethrowing({ try peek() }) == CompactTag.null {
            position += 1
            return true
        }
        return false
    }
}

@inline(__always)
func keyMatches(_ key: some CodingKey, _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
    let stored = UnsafeRawBufferPointer(rebasing: bytes[range])
    let name = key.stringValue
    if let equal = name.utf8.withContiguousStorageIfAvailable({ utf8 in
        utf8.count == stored.count
            && (utf8.count == 0 || compareBytes(utf8.baseAddress!, stored.baseAddress!, count: utf8.count) == 0)
    }) {
        return equal
    }
    return name.utf8.elementsEqual(stored)
}

final class CompactKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let context: UnsafeMutablePointer<CompactDecodingContext>
    let bytes: UnsafeRawBufferPointer
    let entries: Int
    let depth: Int
    /// True for the top-level object's container, which records how far its reads checked the
    /// object (``CompactDecodingContext``).
    private let records: Bool
    /// The next entry's offset, once known: keys are usually decoded in the order they were
    /// encoded, so the entry after the last one found is tried first.
    private var next: Int
    /// The offset of the value found last while `next` is not known yet: a primitive read from
    /// it tells where it ends (`read`), anything else is skipped when the next key is looked up.
    /// Values are read once, not skipped and then read.
    private var unread = -1
    var codingPath: [any CodingKey] { [] }

    init(context: UnsafeMutablePointer<CompactDecodingContext>, entries: Int, depth: Int) {
        self.context = context
        self.bytes = context.pointee.bytes
        self.entries = entries
        self.depth = depth
        self.next = entries
        self.records = entries == 1
    }

    @inline(__always)
    private func record(_ position: Int, _ kind: CompactDecodingContext.Checked) {
        if records { context.pointee.record(position, kind) }
    }

    /// The offset of `key`'s value, or nil when absent. Tries the next entry first.
    private func find(_ key: Key) throws -> Int? {
        if unread >= 0 {
            var skipped = CompactCursor(bytes, position: unread)
            try CompactDecoder.rethrowing { try skipped.skipValue(depth: depth) }
            next = skipped.position
            unread = -1
            record(next, .entry)
        }
        var cursor = CompactCursor(bytes, position: next)
        if let range = try CompactDecoder.rethrowing({ try cursor.objectKey() }) {
            if keyMatches(key, bytes, range) {
                unread = cursor.position
                record(unread, .value)
                return unread
            }
        }
        cursor = CompactCursor(bytes, position: entries)
        while let range = try CompactDecoder.rethrowing({ try cursor.objectKey() }) {
            let value = cursor.position
            try CompactDecoder.rethrowing { try cursor.skipValue(depth: depth) }
            if keyMatches(key, bytes, range) {
                next = cursor.position
                record(next, .entry)
                return value
            }
        }
        record(cursor.position, .end)
        return nil
    }

    private func require(_ key: Key) throws -> CompactCursor {
        guard let at = try find(key) else {
            throw DecodingError.keyNotFound(
                key,
                .init(
                    codingPath: [],
                    debugDescription: "no key \"\(key.stringValue)\" in the object at byte \(entries - 1)"))
        }
        return CompactCursor(bytes, position: at)
    }

    /// Reads the primitive value of `key` with `body`; when it was the entry found in order, where
    /// the read ended is where the next entry starts (a primitive read takes exactly its value, and
    /// checks it as it reads it).
    @inline(__always)
    private func read<T>(_ key: Key, _ body: (inout CompactCursor) throws -> T) throws -> T {
        var cursor = try require(key)
        let start = cursor.position
        let value = try body(&cursor)
        if start == unread {
            next = cursor.position
            unread = -1
            record(next, .entry)
        }
        return value
    }

    var allKeys: [Key] {
        var keys: [Key] = []
        var cursor = CompactCursor(bytes, position: entries)
        while true {
            let key: Range<Int>?
            do { key = try cursor.objectKey() } catch { break }
            guard let range = key else {
                record(cursor.position, .end)
                break
            }
            guard let name = String(validUTF8: UnsafeRawBufferPointer(rebasing: bytes[range])) else {
                if context.pointee.unreadableKey == nil { context.pointee.unreadableKey = range.lowerBound }
                break
            }
            if let key = Key(stringValue: name) { keys.append(key) }
            guard (try? cursor.skipValue(depth: depth)) != nil else { break }
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { ((try? find(key)) ?? nil) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        var cursor = try require(key)
        return try cursor.readNil()
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try read(key) { try $0.readBool() }
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try read(key) { try $0.readString() }
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try read(key) { try $0.readDouble() }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try read(key) { Float(try $0.readDouble()) }
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try read(key) { try $0.readInteger(Int.self) }
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try read(key) { try $0.readInteger(Int8.self) }
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try read(key) { try $0.readInteger(Int16.self) }
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try read(key) { try $0.readInteger(Int32.self) }
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try read(key) { try $0.readInteger(Int64.self) }
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try read(key) { try $0.readInteger(UInt.self) }
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try read(key) { try $0.readInteger(UInt8.self) }
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try read(key) { try $0.readInteger(UInt16.self) }
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try read(key) { try $0.readInteger(UInt32.self) }
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try read(key) { try $0.readInteger(UInt64.self) }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let cursor = try require(key)
        return try CompactDecoding(context: context, position: cursor.position).decodeValue(type, depth: depth)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let at = try find(key) else { return nil }
        var cursor = CompactCursor(bytes, position: at)
        if try cursor.readNil() { return nil }
        return try CompactDecoding(context: context, position: at).decodeValue(type, depth: depth)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let cursor = try require(key)
        return try CompactDecoding(context: context, position: cursor.position, depth: depth).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let cursor = try require(key)
        return try CompactDecoding(context: context, position: cursor.position, depth: depth).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try superDecoder(forKey: Key(stringValue: "super")!) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        CompactDecoding(context: context, position: try require(key).position, depth: depth)
    }
}

struct CompactUnkeyedDecoder: UnkeyedDecodingContainer {
    let context: UnsafeMutablePointer<CompactDecodingContext>
    let bytes: UnsafeRawBufferPointer
    var cursor: CompactCursor
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int?
    var currentIndex = 0

    init(context: UnsafeMutablePointer<CompactDecodingContext>, cursor: CompactCursor, depth: Int) throws {
        self.context = context
        self.bytes = context.pointee.bytes
        self.cursor = cursor
        self.depth = depth
        var counter = cursor
        var n = 0
        while try CompactDecoder.rethrowing({ try counter.peek() }) != CompactTag.end {
            try CompactDecoder.rethrowing { try counter.skipValue(depth: depth) }
            n += 1
        }
        self.count = n
    }

    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    private func ensureMore() throws {
        if isAtEnd {
            throw DecodingError.valueNotFound(
                Any.self,
                .init(
                    codingPath: [],
                    debugDescription: "the array at byte \(cursor.position) has no element \(currentIndex)"))
        }
    }

    mutating func decodeNil() throws -> Bool {
        try ensureMore()
        if try cursor.readNil() {
            currentIndex += 1
            return true
        }
        return false
    }

    private mutating func primitive<T>(_ read: (inout CompactCursor) throws -> T) throws -> T {
        try ensureMore()
        let value = try read(&cursor)
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try primitive { try $0.readBool() } }
    mutating func decode(_ type: String.Type) throws -> String { try primitive { try $0.readString() } }
    mutating func decode(_ type: Double.Type) throws -> Double { try primitive { try $0.readDouble() } }
    mutating func decode(_ type: Float.Type) throws -> Float { try primitive { Float(try $0.readDouble()) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try primitive { try $0.readInteger(Int.self) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try primitive { try $0.readInteger(Int8.self) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try primitive { try $0.readInteger(Int16.self) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try primitive { try $0.readInteger(Int32.self) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try primitive { try $0.readInteger(Int64.self) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try primitive { try $0.readInteger(UInt.self) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try primitive { try $0.readInteger(UInt8.self) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try primitive { try $0.readInteger(UInt16.self) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try primitive { try $0.readInteger(UInt32.self) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try primitive { try $0.readInteger(UInt64.self) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ensureMore()
        let at = cursor.position
        let value = try CompactDecoding(context: context, position: at).decodeValue(type, depth: depth)
        try CompactDecoder.rethrowing { try cursor.skipValue(depth: depth) }
        currentIndex += 1
        return value
    }

    private mutating func nestedDecoding() throws -> CompactDecoding {
        try ensureMore()
        let decoding = CompactDecoding(context: context, position: cursor.position, depth: depth)
        try CompactDecoder.rethrowing { try cursor.skipValue(depth: depth) }
        currentIndex += 1
        return decoding
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        try nestedDecoding().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try nestedDecoding().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try nestedDecoding() }
}

struct CompactSingleDecoder: SingleValueDecodingContainer {
    let context: UnsafeMutablePointer<CompactDecodingContext>
    let bytes: UnsafeRawBufferPointer
    private let storedPosition: Int32
    private let storedDepth: UInt16
    var position: Int { Int(storedPosition) }
    var depth: Int { Int(storedDepth) }
    var codingPath: [any CodingKey] { [] }

    init(context: UnsafeMutablePointer<CompactDecodingContext>, position: Int, depth: Int) {
        self.context = context
        self.bytes = context.pointee.bytes
        self.storedPosition = Int32(truncatingIfNeeded: position)
        self.storedDepth = UInt16(clamping: depth)
    }

    private var cursor: CompactCursor { CompactCursor(bytes, position: position) }

    func decodeNil() -> Bool { (try? cursor.peek()) == CompactTag.null }
    func decode(_ type: Bool.Type) throws -> Bool {
        var c = cursor
        return try c.readBool()
    }
    func decode(_ type: String.Type) throws -> String {
        var c = cursor
        return try c.readString()
    }
    func decode(_ type: Double.Type) throws -> Double {
        var c = cursor
        return try c.readDouble()
    }
    func decode(_ type: Float.Type) throws -> Float {
        var c = cursor
        return Float(try c.readDouble())
    }
    func decode(_ type: Int.Type) throws -> Int {
        var c = cursor
        return try c.readInteger(Int.self)
    }
    func decode(_ type: Int8.Type) throws -> Int8 {
        var c = cursor
        return try c.readInteger(Int8.self)
    }
    func decode(_ type: Int16.Type) throws -> Int16 {
        var c = cursor
        return try c.readInteger(Int16.self)
    }
    func decode(_ type: Int32.Type) throws -> Int32 {
        var c = cursor
        return try c.readInteger(Int32.self)
    }
    func decode(_ type: Int64.Type) throws -> Int64 {
        var c = cursor
        return try c.readInteger(Int64.self)
    }
    func decode(_ type: UInt.Type) throws -> UInt {
        var c = cursor
        return try c.readInteger(UInt.self)
    }
    func decode(_ type: UInt8.Type) throws -> UInt8 {
        var c = cursor
        return try c.readInteger(UInt8.self)
    }
    func decode(_ type: UInt16.Type) throws -> UInt16 {
        var c = cursor
        return try c.readInteger(UInt16.self)
    }
    func decode(_ type: UInt32.Type) throws -> UInt32 {
        var c = cursor
        return try c.readInteger(UInt32.self)
    }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
        var c = cursor
        return try c.readInteger(UInt64.self)
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try CompactDecoding(context: context, position: position).decodeValue(type, depth: depth + 1)
    }
}
