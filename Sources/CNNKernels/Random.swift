// A small, fast, seedable PRNG for dropout masks: xoshiro256** seeded through SplitMix64
// (Blackman & Vigna). Reproducible across platforms: the same seed gives the same stream.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// xoshiro256** — 256-bit state, period 2^256 − 1, passes BigCrush. Not cryptographic.
public struct Xoshiro256StarStar: RandomNumberGenerator, Hashable, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the state from `seed` with SplitMix64, as the authors recommend (never all zero).
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    /// The next 64 bits of the stream (the generator's step), as `RandomNumberGenerator` requires.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform Double in [0, 1) from the top 53 bits.
    @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// SplitMix64: a 64-bit-state generator, used to expand a seed.
public struct SplitMix64: RandomNumberGenerator, Hashable, Sendable {
    private var state: UInt64
    /// A generator starting from `seed` as given (any value, zero included).
    public init(seed: UInt64) { state = seed }
    /// The next 64 bits: a Weyl step then a bit mix, so even consecutive seeds give unrelated
    /// streams (which is why it expands seeds for xoshiro).
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

extension Xoshiro256StarStar {
    /// `count` standard-normal draws by Box–Muller (a cosine and a sine draw per pair of
    /// uniforms, in that order), as Double. The one Gaussian source for seeded inputs.
    public mutating func standardNormals(_ count: Int) -> [Double] {
        var values = [Double](repeating: 0, count: max(0, count))
        var i = 0
        while i < count {
            let (a, b) = boxMuller(nextUnit(), nextUnit())
            values[i] = a
            if i + 1 < count { values[i + 1] = b }
            i += 2
        }
        return values
    }
}

/// Two independent standard normals from two uniforms in [0, 1) (Box–Muller): the one Gaussian
/// formula every seeded source here uses. `u1` is clamped away from 0 (log 0).
@inline(__always)
public func boxMuller(_ u1: Double, _ u2: Double) -> (Double, Double) {
    let r = (-2 * log(max(u1, 0x1p-60))).squareRoot()
    return (r * cos(2 * Double.pi * u2), r * sin(2 * Double.pi * u2))
}
