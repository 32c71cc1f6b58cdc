/// Frame flags.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The payload is an LZ4 block.
    public static let compressed = FrameFlags(rawValue: 1 << 0)
    /// The frame starts a new LZ4 chain: decode it without history.
    public static let chainStart = FrameFlags(rawValue: 1 << 1)
    /// Every flag this version understands; a frame with another is refused.
    public static let known: FrameFlags = [.compressed, .chainStart]
}
