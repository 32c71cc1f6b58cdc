import StateJournalSystem

/// A small deterministic generator (SplitMix64), so random choices reproduce from a seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var generator: SplitMix
    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { generator = SplitMix(seed: seed) }
    public mutating func next() -> UInt64 { generator.next() }
}
