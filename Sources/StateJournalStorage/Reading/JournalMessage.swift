/// One message read back from a journal.
public struct JournalMessage: Sendable, Hashable {
    /// Its sequence number: strictly increasing, no gap, starting at 1.
    public var sequence: UInt64
    /// The bytes appended.
    public var bytes: [UInt8]

    /// Message `sequence` with its bytes.
    public init(sequence: UInt64, bytes: [UInt8]) {
        self.sequence = sequence
        self.bytes = bytes
    }
}
