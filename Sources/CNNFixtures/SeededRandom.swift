// A small deterministic generator for fixtures and tests: the same seed, the same numbers,
// everywhere (no dependence on the system's random source).
import CNNKernels
import Foundation

/// SplitMix64 (the kernels' generator), with uniform and Gaussian (Box–Muller) draws.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var source: SplitMix64
    /// A generator whose stream depends only on `seed`.
    public init(seed: UInt64) { source = SplitMix64(seed: seed) }

    /// The next 64 random bits (SplitMix64's step), as `RandomNumberGenerator` requires.
    public mutating func next() -> UInt64 { source.next() }

    /// Uniform in [0, 1), 53 bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// A normal draw N(mean, std²) through the kernels' one Box–Muller transform.
    public mutating func gaussian(mean: Double = 0, std: Double = 1) -> Double {
        let u1 = uniform()
        return mean + std * boxMuller(u1, uniform()).0
    }

    /// `count` draws rounded to Float32, the element type tensors hold.
    public mutating func floats(_ count: Int, _ draw: (inout SeededRandom) -> Double) -> [Float] {
        (0..<count).map { _ in Float(draw(&self)) }
    }
}
