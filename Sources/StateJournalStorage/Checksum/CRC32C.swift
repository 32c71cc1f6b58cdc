import CStateJournalCRC32C

/// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78).
///
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, chosen once at
/// run time, and a slicing-by-8 table otherwise. `update` continues a
/// finished CRC: `crc32c(a + b) == update(crc32c(a), b)`.
package enum CRC32C {
    /// Which implementation ``checksum(_:seed:)`` uses on this machine.
    package enum Implementation: Sendable, CustomStringConvertible {
        case hardware, table
        package var description: String { self == .hardware ? "sse4.2" : "table" }
    }

    /// The implementation in use, decided at first use.
    package static let implementation: Implementation =
        sj_crc32c_hardware_available() != 0 ? .hardware : .table

    /// The CRC32C of `bytes`, continuing from `seed` (a finished CRC; 0 to start).
    @inlinable
    package static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        update(seed, bytes)
    }

    /// The CRC32C of `bytes`, continuing from `seed`.
    package static func checksum(_ bytes: some Sequence<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ update(seed, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { update(seed, $0) }
    }

    package static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard bytes.count > 0 else { return crc }
        switch implementation {
        case .hardware: return sj_crc32c_hardware(crc, bytes.baseAddress, bytes.count)
        case .table: return tableUpdate(crc, bytes)
        }
    }

    /// The hardware path, for tests and benchmarks. Nil when the CPU lacks it.
    package static func hardwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32? {
        guard sj_crc32c_hardware_available() != 0 else { return nil }
        return bytes.count == 0 ? seed : sj_crc32c_hardware(seed, bytes.baseAddress, bytes.count)
    }

    /// The portable table path, for tests and benchmarks.
    package static func tableChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        tableUpdate(seed, bytes)
    }

    private static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            tables[0][i] = c
        }
        for i in 0..<256 {
            for t in 1..<8 {
                let previous = tables[t - 1][i]
                tables[t][i] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    private static func tableUpdate(_ seed: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ~seed
        var index = 0
        let count = bytes.count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0]
            let t1 = t[1]
            let t2 = t[2]
            let t3 = t[3]
            let t4 = t[4]
            let t5 = t[5]
            let t6 = t[6]
            let t7 = t[7]
            while count - index >= 8 {
                let lo = UInt32(littleEndianBytes: bytes, at: index) ^ crc
                let hi = UInt32(littleEndianBytes: bytes, at: index + 4)
                crc =
                    t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)]
                    ^ t4[Int(lo >> 24)] ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)]
                    ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
        }
        return ~crc
    }
}

extension UInt32 {
    @inline(__always)
    init(littleEndianBytes bytes: UnsafeRawBufferPointer, at offset: Int) {
        self = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
