import StateJournalStorage
import Testing

@Suite struct CRC32CTests {
    @Test func standardCheckValue() {
        let check = Array("123456789".utf8)
        #expect(CRC32C.checksum(check) == 0xE306_9283)
        check.withUnsafeBytes { bytes in
            #expect(CRC32C.tableChecksum(bytes) == 0xE306_9283)
            if let hardware = CRC32C.hardwareChecksum(bytes) { #expect(hardware == 0xE306_9283) }
        }
    }

    @Test func emptyInputKeepsTheSeed() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](), seed: 0x1234_5678) == 0x1234_5678)
    }

    @Test func hardwareAndTableAgreeOnRandomData() {
        var generator = SeededGenerator(seed: 42)
        for length in [1, 3, 7, 8, 9, 15, 16, 63, 64, 65, 255, 1000, 4096, 65_537] {
            for _ in 0..<8 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let seed = UInt32.random(in: 0...UInt32.max, using: &generator)
                bytes.withUnsafeBytes { raw in
                    let table = CRC32C.tableChecksum(raw, seed: seed)
                    if let hardware = CRC32C.hardwareChecksum(raw, seed: seed) {
                        #expect(hardware == table, "length \(length)")
                    }
                    // Unaligned starts take the byte-wise head path of the hardware version.
                    if raw.count > 3 {
                        let tail = UnsafeRawBufferPointer(rebasing: raw[3...])
                        if let hardware = CRC32C.hardwareChecksum(tail) {
                            #expect(hardware == CRC32C.tableChecksum(tail))
                        }
                    }
                }
            }
        }
    }

    @Test func continuationEqualsWhole() {
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for split in [0, 1, 17, 5000, 9999, 10_000] {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.checksum(bytes[split...], seed: first) == CRC32C.checksum(bytes))
        }
    }
}
