/// When an append is acknowledged.
public enum Durability: Sendable, Hashable, CustomStringConvertible {
    /// Acknowledged at once; written within the given bound. A kill may lose at
    /// most that window, never with a gap, duplicate or reorder.
    case buffered(within: Duration)
    /// Acknowledged after `write` returned: survives `kill -9` of the OS process.
    case written
    /// Acknowledged after the data reached stable storage (`fdatasync` or a
    /// shared `syncfs` round): survives power loss.
    case synced

    public var description: String {
        switch self {
        case .buffered(let within): "buffered(within: \(within))"
        case .written: "written"
        case .synced: "synced"
        }
    }
}
