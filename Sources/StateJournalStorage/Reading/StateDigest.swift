import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// A digest of a process's encoded state after a message, recorded for the
/// determinism check: a replay recomputes it and compares.
public struct StateDigest: Sendable, Hashable {
    /// The digest covers the state after this message.
    public var sequence: UInt64
    /// A 64-bit digest of the encoded state (two CRC32C lanes, see docs/FORMAT.md).
    public var value: UInt64
    /// Computed over the canonical encoding (frame type 0x83), so a replay can check it.
    /// False for a digest of the first encoding (type 0x81), which a replay skips.
    public var isCanonical: Bool

    /// The digest `value` of the state after message `sequence`.
    public init(sequence: UInt64, value: UInt64, isCanonical: Bool = true) {
        self.sequence = sequence
        self.value = value
        self.isCanonical = isCanonical
    }

    /// The digest of encoded state bytes.
    public static func digest(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        let low = CRC32C.checksum(bytes)
        let high = CRC32C.checksum(bytes, seed: 0x9E37_79B9)
        return UInt64(high) << 32 | UInt64(low)
    }

    init(payload: UnsafeRawBufferPointer, type: FrameType) {
        sequence = payload.loadLE(at: 0)
        value = payload.loadLE(at: 8)
        isCanonical = type == .canonicalStateDigest
    }
}
