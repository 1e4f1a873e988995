// A small deterministic generator for fixtures and tests: the same seed, the same numbers,
// everywhere (no dependence on the system's random source).
import CNNKernels
import Foundation

/// SplitMix64 (the kernels' generator), with uniform and Gaussian (Box–Muller) draws.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var source: SplitMix64
    public init(seed: UInt64) { source = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { source.next() }

    /// Uniform in [0, 1), 53 bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    public mutating func gaussian(mean: Double = 0, std: Double = 1) -> Double {
        let u1 = uniform()
        return mean + std * boxMuller(u1, uniform()).0
    }

    public mutating func floats(_ count: Int, _ draw: (inout SeededRandom) -> Double) -> [Float] {
        (0..<count).map { _ in Float(draw(&self)) }
    }
}

