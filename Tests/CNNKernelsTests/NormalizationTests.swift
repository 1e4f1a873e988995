// BatchNorm (inference and training), LayerNorm, GroupNorm, InstanceNorm and LRN against
// Float64 formulas, plus a hand-computed training-mode example.

import CNNKernels
import Foundation
import Testing

/// Mean and biased variance of `v`.
func moments(_ v: [Double]) -> (mean: Double, variance: Double) {
    let m = v.reduce(0, +) / Double(v.count)
    return (m, v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count))
}

@Suite struct NormalizationTests {
    @Test func batchNormInferenceMatchesFormula() {
        func check<T: KernelScalar>(_: T.Type) {
            let s = Shape4D(batch: 3, channels: 4, height: 5, width: 3)
            var r = TestRandom(30)
            let x = r.values(s.count, T.self, -3, 3)
            let gamma = r.values(4, T.self), beta = r.values(4, T.self)
            let mean = r.values(4, T.self), variance = r.values(4, T.self, 0.1, 2)
            let eps = 1e-5
            let got = run(T.self, [x, gamma, beta, mean, variance], outputCount: s.count) { p, o in
                batchNormInference(
                    s, input: p[0], output: o, scale: p[1], bias: p[2],
                    runningMean: p[3], runningVariance: p[4], epsilon: eps)
            }
            let ref = (0..<s.count).map { i -> Double in
                let c = (i / 15) % 4
                return gamma[c] * (x[i] - mean[c]) / (variance[c] + eps).squareRoot() + beta[c]
            }
            expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) BN inference")
        }
        check(Float.self)
        check(Double.self)
    }

    /// N = 2, C = 1, 1x2: values 1, 2, 3, 4. Mean 2.5, biased variance 1.25, unbiased 5/3.
    /// With gamma 2, beta 1, eps 0: y = 2·(x − 2.5)/√1.25 + 1.
    @Test func batchNormTrainingHandExample() throws {
        let s = Shape4D(batch: 2, channels: 1, height: 1, width: 2)
        var mean = [0.0], variance = [0.0]
        let got = try run(Double.self, [[1, 2, 3, 4], [2], [1]], outputCount: 4) { p, o in
            try batchNormTraining(
                s, input: p[0], output: o, scale: p[1], bias: p[2], epsilon: 0,
                batchMean: &mean, batchVariance: &variance)
        }
        #expect(mean == [2.5])
        #expect(abs(variance[0] - 5.0 / 3.0) < 1e-15)
        let sd = 1.25.squareRoot()
        expectClose(
            got, [1 - 3 / sd, 1 - 1 / sd, 1 + 1 / sd, 1 + 3 / sd], tolerance: 1e-14, "BN training hand example")
    }

    @Test func batchNormTrainingRandom() throws {
        func check<T: KernelScalar>(_: T.Type) throws {
            let s = Shape4D(batch: 3, channels: 5, height: 4, width: 7)
            var r = TestRandom(31)
            let x = r.values(s.count, T.self, -2, 5)
            let gamma = r.values(5, T.self), beta = r.values(5, T.self)
            var mean = [T](repeating: 0, count: 5), variance = [T](repeating: 0, count: 5)
            let eps = 1e-3
            let got = try run(T.self, [x, gamma, beta], outputCount: s.count) { p, o in
                try batchNormTraining(
                    s, input: p[0], output: o, scale: p[1], bias: p[2], epsilon: eps,
                    batchMean: &mean, batchVariance: &variance)
            }
            var ref = [Double](repeating: 0, count: s.count)
            for c in 0..<5 {
                var idx: [Int] = []
                for n in 0..<3 { for i in 0..<28 { idx.append((n * 5 + c) * 28 + i) } }
                let (m, v) = moments(idx.map { x[$0] })
                #expect(abs(Double(mean[c]) - m) <= tolerance(T.self) * (1 + abs(m)))
                let unbiased = v * Double(idx.count) / Double(idx.count - 1)
                #expect(abs(Double(variance[c]) - unbiased) <= tolerance(T.self) * (1 + unbiased))
                for i in idx { ref[i] = gamma[c] * (x[i] - m) / (v + eps).squareRoot() + beta[c] }
            }
            expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) BN training")
        }
        try check(Float.self)
        try check(Double.self)
        // One value per channel: the unbiased variance is undefined.
        var m = [0.0], v = [0.0]
        #expect(throws: KernelError.tooFewValuesPerChannel(1)) {
            _ = try run(Double.self, [[1], [1], [0]], outputCount: 1) { p, o in
                try batchNormTraining(
                    Shape4D(batch: 1, channels: 1, height: 1, width: 1), input: p[0], output: o,
                    scale: p[1], bias: p[2], epsilon: 1e-5, batchMean: &m, batchVariance: &v)
            }
        }
    }

    @Test func layerNormOverTrailingAxes() throws {
        func check<T: KernelScalar>(_: T.Type) throws {
            let shape = [2, 3, 4, 5]
            var r = TestRandom(40)
            let x = r.values(120, T.self, -3, 3)
            for axis in 1..<4 {
                let inner = shape[axis...].reduce(1, *)
                let gamma = r.values(inner, T.self), beta = r.values(inner, T.self)
                for withBias in [true, false] {
                    let got = try run(T.self, [x, gamma, beta], outputCount: 120) { p, o in
                        try layerNorm(
                            input: p[0], output: o, shape: shape, axis: axis, scale: p[1],
                            bias: withBias ? p[2] : nil, epsilon: 1e-5)
                    }
                    var ref = [Double]()
                    for row in 0..<(120 / inner) {
                        let v = Array(x[(row * inner)..<((row + 1) * inner)])
                        let (m, va) = moments(v)
                        for i in 0..<inner {
                            ref.append(gamma[i] * (v[i] - m) / (va + 1e-5).squareRoot() + (withBias ? beta[i] : 0))
                        }
                    }
                    expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) layerNorm axis \(axis)")
                }
            }
        }
        try check(Float.self)
        try check(Double.self)
    }

    @Test(arguments: [1, 2, 3, 6])
    func groupAndInstanceNorm(groups: Int) throws {
        func check<T: KernelScalar>(_: T.Type) throws {
            let s = Shape4D(batch: 2, channels: 6, height: 3, width: 5)
            var r = TestRandom(UInt64(50 + groups))
            let x = r.values(s.count, T.self, -2, 4)
            let gamma = r.values(6, T.self), beta = r.values(6, T.self)
            let got = try run(T.self, [x, gamma, beta], outputCount: s.count) { p, o in
                try groupNorm(s, groups: groups, input: p[0], output: o, scale: p[1], bias: p[2], epsilon: 1e-5)
            }
            let runLength = 6 / groups * 15
            var ref = [Double](repeating: 0, count: s.count)
            for block in 0..<(2 * groups) {
                let (m, v) = moments(Array(x[(block * runLength)..<((block + 1) * runLength)]))
                for i in (block * runLength)..<((block + 1) * runLength) {
                    let c = (i / 15) % 6
                    ref[i] = gamma[c] * (x[i] - m) / (v + 1e-5).squareRoot() + beta[c]
                }
            }
            expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) groupNorm \(groups)")
            if groups == 6 {
                let inst = run(T.self, [x, gamma, beta], outputCount: s.count) { p, o in
                    instanceNorm(s, input: p[0], output: o, scale: p[1], bias: p[2], epsilon: 1e-5)
                }
                expectClose(inst, ref, tolerance: tolerance(T.self), "\(T.self) instanceNorm")
            }
        }
        try check(Float.self)
        try check(Double.self)
    }

    @Test(arguments: [1, 2, 3, 5])
    func localResponseNormONNX(size: Int) throws {
        func check<T: KernelScalar>(_: T.Type) throws {
            let s = Shape4D(batch: 2, channels: 7, height: 2, width: 3)
            var r = TestRandom(UInt64(60 + size))
            let x = r.values(s.count, T.self, -2, 2)
            let (alpha, beta, bias) = (1e-2, 0.75, 2.0)
            let got = try run(T.self, [x], outputCount: s.count) { p, o in
                try localResponseNorm(s, input: p[0], output: o, size: size, alpha: alpha, beta: beta, bias: bias)
            }
            var ref = [Double](repeating: 0, count: s.count)
            for n in 0..<2 {
                for c in 0..<7 {
                    for i in 0..<6 {
                        let lo = max(0, c - Int(floor(Double(size - 1) / 2)))
                        let hi = min(6, c + Int(ceil(Double(size - 1) / 2)))
                        var sq = 0.0
                        for cc in lo...hi { let v = x[(n * 7 + cc) * 6 + i]; sq += v * v }
                        let idx = (n * 7 + c) * 6 + i
                        ref[idx] = x[idx] / pow(bias + alpha / Double(size) * sq, beta)
                    }
                }
            }
            expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) LRN size \(size)")
        }
        try check(Float.self)
        try check(Double.self)
    }
}
