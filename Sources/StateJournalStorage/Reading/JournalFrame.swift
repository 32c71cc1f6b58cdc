/// One frame read back from a journal: a group-commit batch or a marker.
public struct JournalFrame: Sendable {
    /// The byte offset of the frame in the file.
    public var offset: Int64
    /// The frame's header.
    public var header: FrameHeader
    /// The frame's messages (empty for markers).
    public var messages: [JournalMessage]
    /// For a state digest frame, the digest it records.
    public var stateDigest: StateDigest?
    /// For a time mark frame, its wall-clock time (nanoseconds since the Unix epoch).
    public var timeMarkNanoseconds: UInt64?
}
