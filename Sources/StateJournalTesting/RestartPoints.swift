/// Where ``ReplayCheck/restartAndCompare(_:messages:restarts:)`` restarts the process.
public enum RestartPoints: Sendable {
    /// After every message.
    case everyMessage
    /// After these message indexes (0-based).
    case after([Int])
    /// After `count` random messages, from `seed` (reproducible).
    case random(count: Int, seed: UInt64)
}
