/// What a replay yields: the snapshot first when there is one, then the
/// messages after it in order, in bounded chunks.
public enum ReplayElement: Sendable {
    case snapshot(JournalSnapshot)
    case messages([JournalMessage])
    /// A recorded digest of the state after a message (after the chunk that holds that message).
    case stateDigest(StateDigest)
}
