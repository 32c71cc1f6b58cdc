import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// The fixed 32-byte header of a frame.
public struct FrameHeader: Sendable, Hashable {
    /// The whole frame's length in bytes, header included.
    public var length: Int
    /// CRC32C over the frame (without this field), seeded from the file's salt.
    public var checksum: UInt32
    /// What the frame holds.
    public var type: FrameType
    /// How the payload is stored.
    public var flags: FrameFlags
    /// Messages in the frame (zero for marks and digests).
    public var messageCount: Int
    /// The sequence number of the frame's first message.
    public var firstSequence: UInt64
    /// The payload's length once decompressed.
    public var rawLength: Int
    /// CRC32C of the decompressed payload.
    public var payloadChecksum: UInt32

    /// The stored payload's length.
    public var storedLength: Int { length - JournalFormat.frameHeaderSize }
    /// The last sequence number in the frame (for a clean-stop marker, the one before it).
    public var lastSequence: UInt64 { firstSequence &+ UInt64(messageCount) &- 1 }

    /// Parses the fixed fields; checks only what needs no payload.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> FrameHeader {
        FrameHeader(
            length: Int(bytes.loadLE(UInt32.self, at: 0)),
            checksum: bytes.loadLE(at: 4),
            type: FrameType(rawValue: bytes[8]),
            flags: FrameFlags(rawValue: bytes[9]),
            messageCount: Int(bytes.loadLE(UInt32.self, at: 12)),
            firstSequence: bytes.loadLE(at: 16),
            rawLength: Int(bytes.loadLE(UInt32.self, at: 24)),
            payloadChecksum: bytes.loadLE(at: 28))
    }

    /// The frame CRC of `frame` (the whole frame's bytes).
    static func computeChecksum(_ frame: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        let head = CRC32C.update(seed, UnsafeRawBufferPointer(rebasing: frame[0..<4]))
        return CRC32C.update(head, UnsafeRawBufferPointer(rebasing: frame[8...]))
    }
}

/// Builds frames into one contiguous buffer, ready for a single `pwrite`.
struct FrameBuilder {
    var bytes: [UInt8] = []

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// Appends a message frame for the uncompressed `payload`, compressed by
    /// `encoder` straight into the buffer when it shrinks, stored raw otherwise.
    mutating func appendMessages(
        payload: UnsafeRawBufferPointer, firstSequence: UInt64, messageCount: Int, encoder: LZ4ChainEncoder?,
        seed: UInt32
    ) {
        let payloadCRC = CRC32C.checksum(payload)
        guard let encoder else {
            append(
                type: .messages, flags: [], firstSequence: firstSequence, messageCount: messageCount,
                rawLength: payload.count, payloadChecksum: payloadCRC, stored: payload, seed: seed)
            return
        }
        let start = bytes.count
        let bound = LZ4ChainEncoder.bound(payload.count)
        bytes.append(contentsOf: repeatElement(0, count: JournalFormat.frameHeaderSize + bound))
        let result = bytes.withUnsafeMutableBytes { buffer in
            encoder.compress(
                payload, into: buffer.baseAddress! + start + JournalFormat.frameHeaderSize, capacity: bound)
        }
        guard let (count, startsChain) = result else {
            bytes.removeLast(JournalFormat.frameHeaderSize + bound)
            append(
                type: .messages, flags: [], firstSequence: firstSequence, messageCount: messageCount,
                rawLength: payload.count, payloadChecksum: payloadCRC, stored: payload, seed: seed)
            return
        }
        bytes.removeLast(bound - count)
        let length = JournalFormat.frameHeaderSize + count
        bytes.storeLE(UInt32(length), at: start)
        bytes[start + 8] = FrameType.messages.rawValue
        bytes[start + 9] = (startsChain ? FrameFlags([.compressed, .chainStart]) : FrameFlags.compressed).rawValue
        bytes.storeLE(UInt32(messageCount), at: start + 12)
        bytes.storeLE(firstSequence, at: start + 16)
        bytes.storeLE(UInt32(payload.count), at: start + 24)
        bytes.storeLE(payloadCRC, at: start + 28)
        let crc = bytes.withUnsafeBytes {
            FrameHeader.computeChecksum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)]), seed: seed)
        }
        bytes.storeLE(crc, at: start + 4)
    }

    /// Appends one frame. `stored` is the payload as stored (compressed or raw).
    mutating func append(
        type: FrameType, flags: FrameFlags, firstSequence: UInt64, messageCount: Int,
        rawLength: Int, payloadChecksum: UInt32, stored: UnsafeRawBufferPointer, seed: UInt32
    ) {
        let start = bytes.count
        let length = JournalFormat.frameHeaderSize + stored.count
        bytes.appendLE(UInt32(length))
        bytes.appendLE(UInt32(0))
        bytes.append(type.rawValue)
        bytes.append(flags.rawValue)
        bytes.appendLE(UInt16(0))
        bytes.appendLE(UInt32(messageCount))
        bytes.appendLE(firstSequence)
        bytes.appendLE(UInt32(rawLength))
        bytes.appendLE(payloadChecksum)
        bytes.append(contentsOf: stored)
        let crc = bytes.withUnsafeBytes {
            FrameHeader.computeChecksum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)]), seed: seed)
        }
        bytes.storeLE(crc, at: start + 4)
    }
}
