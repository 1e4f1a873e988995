// The test targets' one random source: SplitMix64 written here, independent of the
// generators in the code under test, so test data never depends on what is being tested.

/// SplitMix64, so tests draw data from a generator the code under test does not share.
public struct TestRandom: Sendable {
    /// The generator's whole state, exposed so a test can record and replay it.
    public var state: UInt64
    /// Same seed, same sequence: a failing test reproduces.
    public init(_ seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi), 53 bits.
    public mutating func uniform(_ lo: Double = -1, _ hi: Double = 1) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * 0x1.0p-53
    }
}
