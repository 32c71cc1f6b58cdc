/// When a snapshot of the state is taken, so replay time stays bounded.
public struct SnapshotPolicy: Sendable, Hashable {
    /// After this many messages since the last snapshot.
    public var everyMessages: Int?
    /// After this many bytes of encoded messages since the last snapshot.
    public var everyBytes: Int?

    /// A snapshot after `everyMessages` messages or `everyBytes` bytes of messages, whichever comes first (nil: not by that measure).
    public init(everyMessages: Int? = nil, everyBytes: Int? = nil) {
        self.everyMessages = everyMessages
        self.everyBytes = everyBytes
    }

    /// No automatic snapshot (``ProcessHandle/snapshot()`` still takes one on demand).
    public static let never = SnapshotPolicy()
    /// A snapshot after every `messages` messages.
    public static func every(messages: Int) -> SnapshotPolicy { SnapshotPolicy(everyMessages: messages) }
    /// A snapshot after every `bytes` bytes of encoded messages.
    public static func every(bytes: Int) -> SnapshotPolicy { SnapshotPolicy(everyBytes: bytes) }
}
