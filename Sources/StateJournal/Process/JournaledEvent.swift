/// One element of a subscription to a process's messages.
public enum JournaledEvent<P: JournaledProcess>: Sendable {
    /// An acknowledged message, with its sequence number.
    case message(sequence: UInt64, P.Message)
    /// The state through `sequence`: the messages up to it were folded into a snapshot before
    /// this subscription read them (a subscription that starts before the journal's snapshot,
    /// or one that fell behind across a snapshot). The next element follows `sequence`.
    case snapshot(sequence: UInt64, P.State)

    /// The sequence number of the message, or of the last message the snapshot holds.
    public var sequence: UInt64 {
        switch self {
        case .message(let sequence, _), .snapshot(let sequence, _): sequence
        }
    }
}
