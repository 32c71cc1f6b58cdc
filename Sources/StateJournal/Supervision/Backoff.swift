import Foundation

/// Exponential backoff with jitter between restarts of the same child.
public struct Backoff: Sendable, Hashable {
    /// The delay before the first restart.
    public var initial: Duration
    /// The longest delay.
    public var maximum: Duration
    /// Each further restart within the intensity period multiplies the delay by this.
    public var multiplier: Double
    /// Up to this fraction of the delay is taken off at random (0 for none).
    public var jitter: Double

    /// Delays from `initial`, times `multiplier` per consecutive restart, at most `maximum`, each
    /// shortened at random by up to `jitter` (a fraction of the delay).
    public init(initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
    }

    /// 10 ms, doubling up to 1 s, 20% jitter: a child that fails at once (a full disk, a
    /// journal it cannot read) is retried a few times over seconds, not milliseconds.
    public static let `default` = Backoff(initial: .milliseconds(10), maximum: .seconds(1))

    /// The delay before restart number `attempt` (1 for the first).
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let base = Double(initial.components.seconds) + Double(initial.components.attoseconds) / 1e18
        let cap = Double(maximum.components.seconds) + Double(maximum.components.attoseconds) / 1e18
        var seconds = min(cap, base * pow(multiplier, Double(max(0, attempt - 1))))
        if jitter > 0 { seconds *= 1 - jitter * Double.random(in: 0...1, using: &generator) }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
