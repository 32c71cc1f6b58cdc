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
