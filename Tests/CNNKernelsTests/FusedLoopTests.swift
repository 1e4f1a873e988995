// The executor's fused loops (FusedClip.swift) against the unfused kernels they replace, bit for
// bit, in Float and Double, in place and not: BatchNorm→ReLU and →Clip against
// `batchNormInference` then `activate`, Add→ReLU against `add` then `activate(.relu)`. The data
// holds the values where a shortcut would differ: NaN (kept), −0 before the ReLU (ReLU gives +0,
// a clamp to [0, +∞] would keep −0), ±∞ and values on the clip bounds.

import CNNKernels
import Testing

@Suite struct FusedLoopTests {
    static let shape = Shape4D(batch: 2, channels: 3, height: 5, width: 7)

    /// Random values plus the special ones, at fixed positions so that each channel sees some.
    static func data<T: KernelScalar>(_: T.Type, seed: UInt64, count: Int) -> [T] {
        var r = TestRandom(seed)
        var x = (0..<count).map { _ in T(r.uniform(-3, 3)) }
        let special: [T] = [T.nan, -T.nan, 0, -0.0, .infinity, -.infinity, 6, -6, 1, -1]
        for (k, v) in special.enumerated() { x[(k * 37) % count] = v }
        return x
    }

    /// Per-channel BatchNorm parameters: channel 0 maps its mean to −0 exactly (a negative
    /// factor times +0, plus a shift of −0), so the fused ReLU must turn −0 into +0.
    static func batchNorm<T: KernelScalar>(_: T.Type) -> (scale: [T], bias: [T], mean: [T], variance: [T]) {
        (scale: [-1.5, 0.75, 2], bias: [-0.0, 0.25, -1], mean: [1, -0.5, 0], variance: [0.5, 2, 1e-3])
    }

    /// The positions where `got` and `want` differ in sign, NaN-ness or value (−0 and +0 differ),
    /// with both values: empty when they agree bit for bit but for NaN payloads.
    func differences<T: KernelScalar>(_ got: [T], _ want: [T]) -> [String] {
        zip(got, want).enumerated().compactMap { i, p in
            let same = p.0.sign == p.1.sign && (p.0.isNaN ? p.1.isNaN : p.0 == p.1)
            return same
                ? nil
                : "[\(i)] \(p.0.sign == .minus ? "-" : "+")\(p.0.magnitude) vs \(p.1.sign == .minus ? "-" : "+")\(p.1.magnitude)"
        }
    }

    func batchNormRows<T: KernelScalar>(_: T.Type, clip: (T, T)?, inPlace: Bool) {
        let s = Self.shape, c = s.channels
        let bn = Self.batchNorm(T.self)
        var x = Self.data(T.self, seed: 5, count: s.count)
        // The mean itself, so that channel 0 produces (x − m)·a + b = −0.
        x[1] = bn.mean[0]
        // Reference: the unfused kernels.
        var reference = [T](repeating: 0, count: s.count)
        batchNormInference(
            s, input: x, output: &reference, scale: bn.scale, bias: bn.bias, runningMean: bn.mean,
            runningVariance: bn.variance, epsilon: 1e-5)
        #expect(reference[1] == 0 && reference[1].sign == .minus, "the data must hold a −0 before the activation")
        let activation: Activation = clip.map { .clip(min: Double($0.0), max: Double($0.1)) } ?? .relu
        reference.withUnsafeMutableBufferPointer {
            activate(activation, input: $0.baseAddress!, output: $0.baseAddress!, count: s.count)
        }
        // The fused loop, with the per-channel factor as the executor computes it.
        let factor = (0..<c).map { T(Double(bn.scale[$0]) / (Double(bn.variance[$0]) + 1e-5).squareRoot()) }
        var y = inPlace ? x : [T](repeating: 0, count: s.count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                let src = inPlace ? UnsafePointer(yp.baseAddress!) : xp.baseAddress!
                if let (lo, hi) = clip {
                    batchNormClipRows(
                        0..<(s.batch * c), channels: c, plane: s.spatial, x: src, y: yp.baseAddress!,
                        factor: factor, centre: bn.mean, shift: bn.bias, lo: lo, hi: hi)
                } else {
                    batchNormReLURows(
                        0..<(s.batch * c), channels: c, plane: s.spatial, x: src, y: yp.baseAddress!,
                        factor: factor, centre: bn.mean, shift: bn.bias)
                }
            }
        }
        let diff = differences(y, reference)
        #expect(diff.isEmpty, "\(T.self) clip \(String(describing: clip)) in place \(inPlace): \(diff.prefix(5))")
        if clip == nil { #expect(y[1] == 0 && y[1].sign == .plus, "ReLU(−0) is +0") }
        #expect(y.contains { $0.isNaN }, "NaN stays NaN")
    }

    @Test func batchNormReLUMatchesTheUnfusedKernels() {
        for inPlace in [false, true] {
            batchNormRows(Float.self, clip: nil, inPlace: inPlace)
            batchNormRows(Double.self, clip: nil, inPlace: inPlace)
        }
    }

    @Test func batchNormClipMatchesTheUnfusedKernels() {
        for inPlace in [false, true] {
            batchNormRows(Float.self, clip: (0, 6), inPlace: inPlace)
            batchNormRows(Double.self, clip: (0, 6), inPlace: inPlace)
            batchNormRows(Float.self, clip: (-1, 1), inPlace: inPlace)
        }
    }

    func addReLURun<T: KernelScalar>(_: T.Type) {
        let n = 1000
        var a = Self.data(T.self, seed: 7, count: n), b = Self.data(T.self, seed: 8, count: n)
        a[3] = -0.0; b[3] = -0.0  // −0 + −0 = −0 before the ReLU
        var reference = [T](repeating: 0, count: n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                reference.withUnsafeMutableBufferPointer { rp in
                    add([ap.baseAddress!, bp.baseAddress!], output: rp.baseAddress!, count: n)
                    activate(.relu, input: rp.baseAddress!, output: rp.baseAddress!, count: n)
                }
            }
        }
        // Into a third buffer, over `a`, over `b`; in two ranges as the executor's blocks split it.
        for target in 0..<3 {
            var y = target == 1 ? a : target == 2 ? b : [T](repeating: 0, count: n)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        let y0 = yp.baseAddress!
                        let pa = target == 1 ? UnsafePointer(y0) : ap.baseAddress!
                        let pb = target == 2 ? UnsafePointer(y0) : bp.baseAddress!
                        addReLU(pa, pb, y0, from: 0, to: 600)
                        addReLU(pa, pb, y0, from: 600, to: n)
                    }
                }
            }
            let diff = differences(y, reference)
            #expect(diff.isEmpty, "\(T.self) target \(target): \(diff.prefix(5))")
            #expect(y[3] == 0 && y[3].sign == .plus, "ReLU(−0 + −0) is +0")
        }
    }

    @Test func addReLUMatchesTheUnfusedKernels() {
        addReLURun(Float.self)
        addReLURun(Double.self)
    }
}
