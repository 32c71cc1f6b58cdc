@_spi(Bytes) import StateJournalSystem

/// The compact value encoding: a self-describing, canonical binary form of
/// `Codable` values (see docs/FORMAT.md, "Message encoding").
///
/// Each value starts with a tag byte:
///
/// | tag | value |
/// | --- | --- |
/// | `0x80`–`0xFF` | unsigned integer 0–127 in the tag itself |
/// | `0x00` | nil |
/// | `0x01` / `0x02` | false / true |
/// | `0x03` | signed integer, zigzag LEB128 |
/// | `0x04` | unsigned integer, LEB128 |
/// | `0x05` | Double, 8 bytes little-endian |
/// | `0x06` | Float, 4 bytes little-endian |
/// | `0x07` | string: LEB128 byte count, UTF-8 |
/// | `0x08` | array: values until `0x0A` |
/// | `0x0B` | object: entries until `0x00`; an entry is LEB128(key byte count + 1), the key's UTF-8, a value |
/// | `0x09` | object of the first encoding (read, never written): see ``CompactLegacy`` |
/// | `0x0A` | end of an array (and of a first-encoding object) |
///
/// A varint is always in its shortest form, so an object's end (the single byte `0x00`)
/// can never be read as the start of an entry, and no length can be read as a tag.
package enum CompactTag {
    package static let null: UInt8 = 0x00
    package static let `false`: UInt8 = 0x01
    package static let `true`: UInt8 = 0x02
    package static let signed: UInt8 = 0x03
    package static let unsigned: UInt8 = 0x04
    package static let double: UInt8 = 0x05
    package static let float: UInt8 = 0x06
    package static let string: UInt8 = 0x07
    package static let arrayStart: UInt8 = 0x08
    /// An object of the first encoding, whose key lengths could collide with its end tag.
    package static let legacyObjectStart: UInt8 = 0x09
    /// The end of an array (and of a first-encoding object).
    package static let end: UInt8 = 0x0A
    package static let objectStart: UInt8 = 0x0B
    /// The end of an object: where an entry would start with LEB128(key byte count + 1) >= 1.
    package static let objectEnd: UInt8 = 0x00
    package static let smallUnsigned: UInt8 = 0x80
    /// Nesting deeper than this is refused when decoding (bounded recursion).
    package static let maxDepth = 128
    /// The bit pattern every Double NaN is written as (one encoding per value).
    package static let canonicalDoubleNaN: UInt64 = 0x7FF8_0000_0000_0000
    /// The bit pattern every Float NaN is written as.
    package static let canonicalFloatNaN: UInt32 = 0x7FC0_0000
}

/// True when every byte of `bytes` is below 0x80 (eight at a time).
@inline(__always)
func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    var high: UInt64 = 0
    while offset + 8 <= bytes.count {
        high |= bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        offset += 8
    }
    while offset < bytes.count {
        high |= UInt64(bytes[offset])
        offset += 1
    }
    return high & 0x8080_8080_8080_8080 == 0
}

/// Reads compact-encoded bytes with bounds checks everywhere.
struct CompactCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var atEnd: Bool { position >= bytes.count }

    func fail(_ reason: String) -> CompactFormatError { CompactFormatError(offset: position, reason: reason) }

    @inline(__always)
    func peek() throws(CompactFormatError) -> UInt8 {
        guard position < bytes.count else { throw fail("unexpected end") }
        return bytes[position]
    }

    @inline(__always)
    mutating func byte() throws(CompactFormatError) -> UInt8 {
        guard position < bytes.count else { throw fail("unexpected end") }
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always)
    mutating func varint() throws(CompactFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if b == 0 && shift > 0 { throw fail("varint not in its shortest form") }
            if shift == 63 && b > 1 { throw fail("varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw fail("varint longer than 10 bytes") }
        }
    }

    @inline(__always)
    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(CompactFormatError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - position >= size else { throw fail("unexpected end") }
        defer { position += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    /// A length-prefixed UTF-8 run (string value or key), as a byte range.
    @inline(__always)
    mutating func utf8Run() throws(CompactFormatError) -> Range<Int> {
        let count = try varint()
        guard count <= UInt64(bytes.count - position) else { throw fail("string of \(count) bytes runs past the end") }
        let start = position
        position += Int(count)
        return start..<position
    }

    /// The key of the next object entry as a byte range, or nil at the object's end (consumed).
    @inline(__always)
    mutating func objectKey() throws(CompactFormatError) -> Range<Int>? {
        guard position < bytes.count else { throw fail("unexpected end") }
        if bytes[position] == CompactTag.objectEnd {
            position += 1
            return nil
        }
        let count = try varint() - 1
        guard count <= UInt64(bytes.count - position) else { throw fail("key of \(count) bytes runs past the end") }
        let start = position
        position += Int(count)
        return start..<position
    }

    /// Throws unless `range` holds valid UTF-8.
    func requireUTF8(_ range: Range<Int>, _ what: String) throws(CompactFormatError) {
        let run = UnsafeRawBufferPointer(rebasing: bytes[range])
        if isASCII(run) { return }
        if String(validUTF8: run) == nil {
            throw CompactFormatError(offset: range.lowerBound, reason: "\(what) is not valid UTF-8")
        }
    }

    /// Skips one whole value (and with `validatingUTF8`, checks its strings and keys).
    /// A first-encoding object throws an error marked `isLegacyObject`.
    mutating func skipValue(depth: Int = 0, validatingUTF8: Bool = false) throws(CompactFormatError) {
        guard depth <= CompactTag.maxDepth else { throw fail("nesting deeper than \(CompactTag.maxDepth)") }
        let tag = try byte()
        if tag >= CompactTag.smallUnsigned { return }
        switch tag {
        case CompactTag.null, CompactTag.false, CompactTag.true: return
        case CompactTag.signed, CompactTag.unsigned: _ = try varint()
        case CompactTag.double: _ = try fixed(UInt64.self)
        case CompactTag.float: _ = try fixed(UInt32.self)
        case CompactTag.string:
            let run = try utf8Run()
            if validatingUTF8 { try requireUTF8(run, "string") }
        case CompactTag.arrayStart:
            while try peek() != CompactTag.end { try skipValue(depth: depth + 1, validatingUTF8: validatingUTF8) }
            position += 1
        case CompactTag.objectStart:
            while let key = try objectKey() {
                if validatingUTF8 { try requireUTF8(key, "key") }
                try skipValue(depth: depth + 1, validatingUTF8: validatingUTF8)
            }
        case CompactTag.legacyObjectStart:
            position -= 1
            var error = fail("an object of the first encoding (tag 0x09)")
            error.isLegacyObject = true
            throw error
        default:
            position -= 1
            throw fail("unknown tag \(hex(tag))")
        }
    }
}
