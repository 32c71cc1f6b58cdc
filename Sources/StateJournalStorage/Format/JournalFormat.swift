/// Constants and byte-level helpers of the on-disk format v1 (see `docs/FORMAT.md`).
public enum JournalFormat {
    /// The first 8 bytes of every journal: `89 53 4A 4E 4C 0D 0A 1A` ("\x89SJNL\r\n\x1A").
    public static let magic: [UInt8] = [0x89, 0x53, 0x4A, 0x4E, 0x4C, 0x0D, 0x0A, 0x1A]
    /// The first 8 bytes of every snapshot file: `89 53 4A 53 4E 0D 0A 1A` ("\x89SJSN\r\n\x1A").
    public static let snapshotMagic: [UInt8] = [0x89, 0x53, 0x4A, 0x53, 0x4E, 0x0D, 0x0A, 0x1A]
    /// The major version this library writes and reads. A reader refuses a larger one.
    public static let majorVersion: UInt16 = 1
    /// The minor version this library writes. Larger minor versions are readable.
    public static let minorVersion: UInt16 = 0
    /// Compatible flag bit 0: every message is one value in the compact encoding (written by the
    /// runtime with its default codec), so tools check that each parses. Readers that predate it ignore it.
    public static let compactMessagesFlag: UInt32 = 1 << 0
    /// Incompatible feature flags this reader understands (none in v1).
    public static let knownIncompatibleFlags: UInt32 = 0
    /// The fixed part of the file header, before the process id.
    public static let headerFixedSize = 56
    /// The longest process id, in UTF-8 bytes.
    public static let maxProcessIDLength = 1024
    /// The fixed frame header size.
    public static let frameHeaderSize = 32
    /// The largest uncompressed payload of one frame.
    public static let maxFramePayload = 64 << 20
    /// The largest single message.
    public static let maxMessageSize = 32 << 20
    /// Frame payloads the writer aims for; a single larger message gets a frame of its own.
    public static let targetFramePayload = 1 << 20
    /// The largest snapshot.
    public static let maxSnapshotSize = 1 << 30
    /// The LZ4 history window that links the frames of a chain.
    public static let windowSize = 64 << 10

    /// The CRC seed for frames of a file with this salt: stale frames of
    /// another file (another salt) never validate here.
    @inline(__always)
    public static func frameSeed(salt: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: salt) ^ UInt32(truncatingIfNeeded: salt >> 32) ^ 0x534A_4E4C
    }
}

/// The codec of a journal's frames.
public struct JournalCodec: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Payloads are stored as they are.
    public static let none = JournalCodec(rawValue: 0)
    /// LZ4 blocks, linked within a chain to the previous 64 KiB.
    public static let lz4 = JournalCodec(rawValue: 1)
    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4-linked"
        default: "unknown(\(rawValue))"
        }
    }
}

/// The kind of a frame.
public struct FrameType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A group-commit batch of messages.
    public static let messages = FrameType(rawValue: 1)
    /// The clean-stop marker: the journal was stopped normally and is to be discarded.
    public static let cleanStop = FrameType(rawValue: 2)
    /// An optional digest of the process state after a message, computed over
    /// the first compact encoding, which was not canonical (sets and most
    /// dictionaries in hash order): read, never written, never checked.
    public static let stateDigest = FrameType(rawValue: 0x81)
    /// An optional digest of the process state after a message, computed over
    /// its canonical encoding (for the determinism check). Readers that do not
    /// check skip it.
    public static let canonicalStateDigest = FrameType(rawValue: 0x83)
    /// An optional wall-clock time mark: the messages after it were written at
    /// or after this time. Written at most once per interval by a writer.
    public static let timeMark = FrameType(rawValue: 0x82)
    /// An optional synced watermark, the last frame of each write of a `.synced` journal: the
    /// highest sequence number known durable (synced) when that write was made. After damage,
    /// valid frames whose watermarks are all below the damaged sequence prove that the damaged
    /// bytes were never synced, so never acknowledged as `.synced`: recovery cuts them as a torn tail.
    public static let syncedThrough = FrameType(rawValue: 0x84)
    /// Types from 0x80 are optional: a reader that does not know one skips it.
    public var isSkippable: Bool { rawValue >= 0x80 }
    public var isKnown: Bool {
        self == .messages || self == .cleanStop || isStateDigest || self == .timeMark || self == .syncedThrough
    }
    /// A frame of one 8-byte value and no message: a time mark or a synced watermark.
    var isMark: Bool { self == .timeMark || self == .syncedThrough }
    /// Either kind of state digest frame (same payload).
    public var isStateDigest: Bool { self == .stateDigest || self == .canonicalStateDigest }
    public var description: String {
        switch self {
        case .messages: "messages"
        case .cleanStop: "clean-stop"
        case .stateDigest: "state-digest-v1"
        case .canonicalStateDigest: "state-digest"
        case .timeMark: "time-mark"
        case .syncedThrough: "synced-through"
        default: "type(\(rawValue))"
        }
    }
}

/// Frame flags.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The payload is an LZ4 block.
    public static let compressed = FrameFlags(rawValue: 1 << 0)
    /// The frame starts a new LZ4 chain: decode it without history.
    public static let chainStart = FrameFlags(rawValue: 1 << 1)
    public static let known: FrameFlags = [.compressed, .chainStart]
}

// MARK: - Little-endian byte helpers

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    /// Appends `value` as an unsigned LEB128 varint.
    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes; nil when malformed or cut short.
    @inline(__always)
    func readVarint(at offset: inout Int) -> UInt64? {
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
