/// The compact value encoding ("SJC1"): a self-describing, deterministic
/// binary form of `Codable` values (see docs/FORMAT.md, "Message encoding").
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
/// | `0x09` | object: (key, value) pairs until `0x0A`; a key is LEB128 byte count + UTF-8 |
/// | `0x0A` | end of an array or object |
public enum CompactTag {
    public static let null: UInt8 = 0x00
    public static let `false`: UInt8 = 0x01
    public static let `true`: UInt8 = 0x02
    public static let signed: UInt8 = 0x03
    public static let unsigned: UInt8 = 0x04
    public static let double: UInt8 = 0x05
    public static let float: UInt8 = 0x06
    public static let string: UInt8 = 0x07
    public static let arrayStart: UInt8 = 0x08
    public static let objectStart: UInt8 = 0x09
    public static let end: UInt8 = 0x0A
    public static let smallUnsigned: UInt8 = 0x80
    /// Nesting deeper than this is refused when decoding (bounded recursion).
    public static let maxDepth = 128
}

/// A compact-encoded value that is malformed.
public struct CompactFormatError: Error, Sendable, CustomStringConvertible {
    /// The byte offset of the problem in the encoded value.
    public var offset: Int
    public var reason: String
    public var description: String { "malformed compact value at byte \(offset): \(reason)" }
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

    /// Skips one whole value.
    mutating func skipValue(depth: Int = 0) throws(CompactFormatError) {
        guard depth <= CompactTag.maxDepth else { throw fail("nesting deeper than \(CompactTag.maxDepth)") }
        let tag = try byte()
        if tag >= CompactTag.smallUnsigned { return }
        switch tag {
        case CompactTag.null, CompactTag.false, CompactTag.true: return
        case CompactTag.signed, CompactTag.unsigned: _ = try varint()
        case CompactTag.double: _ = try fixed(UInt64.self)
        case CompactTag.float: _ = try fixed(UInt32.self)
        case CompactTag.string: _ = try utf8Run()
        case CompactTag.arrayStart:
            while try peek() != CompactTag.end { try skipValue(depth: depth + 1) }
            position += 1
        case CompactTag.objectStart:
            while try peek() != CompactTag.end {
                _ = try utf8Run()
                try skipValue(depth: depth + 1)
            }
            position += 1
        default:
            position -= 1
            throw fail("unknown tag \(hex(tag))")
        }
    }
}
