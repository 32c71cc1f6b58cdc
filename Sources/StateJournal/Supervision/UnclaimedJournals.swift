/// What a graceful shutdown does with the journals in the directory that no child claims.
public enum UnclaimedJournals: Sendable, Hashable {
    /// They stay on disk (the default): a later program may start their processes.
    case keep
    /// They are discarded once every child stopped (each taken with its lock first; one that
    /// another OS process owns is left alone): the state of the processes that never came back
    /// goes, as a normal stop's transient journal does.
    case discardOnGracefulShutdown
}
