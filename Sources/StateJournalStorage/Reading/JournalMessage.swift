/// One message read back from a journal.
///
/// A replay hands out the messages of a chunk over one shared buffer: each message is a range
/// of it, so reading a chunk allocates once, not once per message. ``withUnsafeBytes(_:)`` and
/// ``count`` read a message in place; ``bytes`` copies it out unless it spans its whole buffer.
/// A message kept after its chunk keeps the chunk's buffer alive: keep ``bytes`` instead when
/// a few messages of many are kept for long.
public struct JournalMessage: Sendable, Hashable {
    /// Its sequence number: strictly increasing, no gap, starting at 1.
    public var sequence: UInt64
    @usableFromInline var storage: [UInt8]
    @usableFromInline var range: Range<Int>

    /// Message `sequence` with its bytes.
    public init(sequence: UInt64, bytes: [UInt8]) {
        self.sequence = sequence
        self.storage = bytes
        self.range = bytes.indices
    }

    /// Message `sequence`, whose bytes are `range` of `buffer` (a buffer shared by the messages
    /// of one chunk: no copy is made).
    public init(sequence: UInt64, bytes buffer: [UInt8], in range: Range<Int>) {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= buffer.count, "the message's range lies outside its buffer")
        self.sequence = sequence
        self.storage = buffer
        self.range = range
    }

    /// The bytes appended.
    public var bytes: [UInt8] {
        get { range == storage.indices ? storage : Array(storage[range]) }
        set {
            storage = newValue
            range = newValue.indices
        }
    }

    /// How many bytes the message holds.
    public var count: Int { range.count }

    /// Calls `body` with the message's bytes, in place.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    public static func == (a: JournalMessage, b: JournalMessage) -> Bool {
        a.sequence == b.sequence && a.storage[a.range].elementsEqual(b.storage[b.range])
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sequence)
        hasher.combine(count)
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
