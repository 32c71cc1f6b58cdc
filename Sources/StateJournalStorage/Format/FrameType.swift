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
    /// Whether this version of the reader understands the type.
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
