/// How a read of a journal ended.
public enum JournalEnd: Sendable, Hashable {
    /// The last frame ended exactly at the end of the file.
    case clean
    /// A clean-stop marker was found: the journal was stopped normally.
    case cleanStop(offset: Int64, sequence: UInt64)
    /// The bytes from `offset` to the end do not hold a valid frame, and no valid frame follows:
    /// an interrupted last write. Recovery cuts them (and keeps them aside).
    case tornTail(TornTail)
}
