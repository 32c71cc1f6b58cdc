/// At most `maxRestarts` restarts of one child within `period`.
///
/// Counted per child (Erlang/OTP counts per supervisor): one sick child never
/// uses up the restarts of its healthy siblings. One restart more, and under
/// one-for-one (and for dynamic children, which are independent of each other)
/// that child alone is given up — its senders get
/// ``ProcessError/Code/notRestarted``, its journal is kept, the event is
/// ``SupervisorEvent/gaveUp(_:)``; under one-for-all and rest-for-one, whose
/// children depend on each other, the supervisor escalates: it stops every
/// child keeping its journal, and `run()` throws.
public struct RestartIntensity: Sendable, Hashable {
    /// Restarts allowed within ``period``.
    public var maxRestarts: Int
    /// The sliding window the restarts are counted in.
    public var period: Duration

    /// At most `maxRestarts` restarts within `period`.
    public init(maxRestarts: Int, within period: Duration) {
        self.maxRestarts = maxRestarts
        self.period = period
    }

    /// Three restarts within five seconds.
    public static let `default` = RestartIntensity(maxRestarts: 3, within: .seconds(5))
}
