/// SplitMix64, the library's one deterministic generator: backoff jitter seeded once per
/// supervisor, and every seeded choice of the tests, campaigns and benchmarks (the test kit's
/// public ``SplitMix64`` is built on it).
package struct SplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
