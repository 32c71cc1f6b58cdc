/// A compact-encoded value that is malformed.
public struct CompactFormatError: Error, Sendable, CustomStringConvertible {
    /// The byte offset of the problem in the encoded value.
    public var offset: Int
    /// What is wrong there, in words.
    public var reason: String
    /// The value holds a first-encoding object (tag 0x09): read it through ``CompactLegacy``.
    var isLegacyObject = false

    /// An error at byte `offset`.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "malformed compact value at byte \(offset): \(reason)" }
}
