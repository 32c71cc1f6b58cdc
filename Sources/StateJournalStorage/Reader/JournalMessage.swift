/// One message read back from a journal.
public struct JournalMessage: Sendable, Hashable {
    /// Its sequence number: strictly increasing, no gap, starting at 1.
    public var sequence: UInt64
    /// The bytes appended.
    public var bytes: [UInt8]

    public init(sequence: UInt64, bytes: [UInt8]) {
        self.sequence = sequence
        self.bytes = bytes
    }
}

/// One frame read back from a journal: a group-commit batch or a marker.
public struct JournalFrame: Sendable {
    /// The byte offset of the frame in the file.
    public var offset: Int64
    public var header: FrameHeader
    /// The frame's messages (empty for markers).
    public var messages: [JournalMessage]
    /// For a state digest frame, the digest it records.
    public var stateDigest: StateDigest?
    /// For a time mark frame, its wall-clock time (nanoseconds since the Unix epoch).
    public var timeMarkNanoseconds: UInt64?
}

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

/// How a read of a journal ended.
public enum JournalEnd: Sendable, Hashable {
    /// The last frame ended exactly at the end of the file.
    case clean
    /// A clean-stop marker was found: the journal was stopped normally.
    case cleanStop(offset: Int64, sequence: UInt64)
    /// The bytes from `offset` to the end do not hold a valid frame, and no valid frame follows:
    /// an interrupted last write. Recovery cuts them (and keeps them aside).
    case tornTail(TornTail)
}

/// An incomplete or failing tail of a journal, with nothing valid after it.
public struct TornTail: Sendable, Hashable {
    /// Where the tail starts (the end of the last good frame).
    public var offset: Int64
    /// How many bytes it holds.
    public var length: Int64
    /// The sequence number the first lost frame would have had.
    public var sequence: UInt64
    /// Why the frame at `offset` was rejected.
    public var reason: String
}
