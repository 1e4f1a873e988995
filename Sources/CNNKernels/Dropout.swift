// Training-mode dropout on NCHW data: element-wise (each value kept with probability
// `keepProbability`) or channel-wise (spatial dropout: each whole (image, channel) map kept or
// zeroed), inverted (kept values scaled by 1/keep) or classic (no scaling at training; the
// inference side then multiplies by keep). Masks come from a seeded `Xoshiro256StarStar`.

/// How kept values are scaled during training.
public enum DropoutScaling: String, Hashable, Sendable {
    /// Kept values are multiplied by 1/keepProbability, so E[y] = x; inference is the identity.
    case inverted
    /// Kept values pass unchanged, so E[y] = keep·x; inference multiplies by keepProbability.
    case classic
}

/// What one Bernoulli draw keeps or drops.
public enum DropoutGranularity: String, Hashable, Sendable {
    /// Each element independently.
    case element
    /// Each (image, channel) plane as a whole (PyTorch `Dropout2d`, "spatial dropout").
    case channel
}

/// Applies dropout in training mode.
///
/// Draws happen in a fixed order (one per element, or one per (n, c) plane, in memory order) on
/// the calling thread, so a given generator state always gives the same mask.
///
/// - Parameters:
///   - keepProbability: 1 − p, in (0, 1]. With 1, the output equals the input.
///   - mask: when non-nil, receives 1 for kept and 0 for dropped, one byte per element
///     (`.element`) or per plane (`.channel`, `batch·channels` bytes).
///   - generator: advanced by the draws.
///   - `output` may be `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func dropout<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    keepProbability: Double, scaling: DropoutScaling, granularity: DropoutGranularity,
    generator: inout Xoshiro256StarStar, mask: UnsafeMutablePointer<UInt8>? = nil
) throws(KernelError) {
    guard keepProbability > 0 && keepProbability <= 1 else {
        throw .invalidProbability("keepProbability (0, 1]", keepProbability)
    }
    let factor: T = scaling == .inverted ? T(1 / keepProbability) : 1
    // keep iff the top 53 bits, as an integer, fall below keep·2^53 (exact for keep = 1).
    let threshold = UInt64(keepProbability * 0x1.0p53)
    switch granularity {
    case .element:
        for i in 0..<shape.count {
            let keep = (generator.next() >> 11) < threshold
            output[i] = keep ? input[i] * factor : 0
            mask?[i] = keep ? 1 : 0
        }
    case .channel:
        let plane = shape.spatial
        for p in 0..<(shape.batch * shape.channels) {
            let keep = (generator.next() >> 11) < threshold
            let src = input + p * plane, dst = output + p * plane
            if keep {
                for i in 0..<plane { dst[i] = src[i] * factor }
            } else {
                dst.update(repeating: 0, count: plane)
            }
            mask?[p] = keep ? 1 : 0
        }
    }
}
