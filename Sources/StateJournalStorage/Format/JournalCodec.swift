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
