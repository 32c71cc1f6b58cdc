/// Little-endian integers and LEB128 varints: the byte helpers of the compact encoding and the
/// journal format.
///
/// Public, not `package`: this toolchain inlines no `package` function across modules, and these
/// run per field and per frame in the modules above (unspecialized, a generic `appendLE` costs a
/// witness-table call per byte copy). Behind `@_spi(Bytes)`: members of a public extension would
/// otherwise be visible to every user of `import StateJournal` (member lookup sees the modules
/// loaded behind an internal import); the layers above `@_spi(Bytes) import StateJournalSystem`.

extension Array where Element == UInt8 {
    @inlinable @inline(__always)
    @_spi(Bytes) public mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inlinable @inline(__always)
    @_spi(Bytes) public mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    /// Appends `value` as an unsigned LEB128 varint.
    @inlinable @inline(__always)
    @_spi(Bytes) public mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    @_spi(Bytes) public func loadLE<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes; nil when malformed or cut short.
    @inlinable @inline(__always)
    @_spi(Bytes) public func readVarint(at offset: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < count, shift < 64 {
            let byte = self[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }
}

/// `value` in hexadecimal with all its digits: `0x0000002a`.
@inlinable @inline(__always)
@_spi(Bytes) public func hex<T: FixedWidthInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
}

/// Compares `count` bytes at `a` and `b` as unsigned bytes, as `memcmp` does: negative, zero or
/// positive. Eight bytes at a time (compared big-endian, so the first difference decides).
@inlinable @inline(__always)
@_spi(Bytes) public func compareBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Int {
    var offset = 0
    while offset + 8 <= count {
        let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        if x != y { return x < y ? -1 : 1 }
        offset += 8
    }
    while offset < count {
        let x = a.load(fromByteOffset: offset, as: UInt8.self)
        let y = b.load(fromByteOffset: offset, as: UInt8.self)
        if x != y { return x < y ? -1 : 1 }
        offset += 1
    }
    return 0
}

extension String {
    /// `bytes` as a string when they are valid UTF-8, else nil. `String(validating:as:)` over a
    /// raw buffer is generic and instantiates metadata on every call (measured: the largest cost
    /// of decoding a string field); decoding with repair is specialized, and a repaired string
    /// never has the input's bytes.
    @inlinable
    @_spi(Bytes) public init?(validUTF8 bytes: UnsafeRawBufferPointer) {
        var string = String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
        let same = string.withUTF8 { utf8 in
            utf8.count == bytes.count
                && (utf8.isEmpty || compareBytes(utf8.baseAddress!, bytes.baseAddress!, count: utf8.count) == 0)
        }
        guard same else { return nil }
        self = string
    }
}
