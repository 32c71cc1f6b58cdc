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
