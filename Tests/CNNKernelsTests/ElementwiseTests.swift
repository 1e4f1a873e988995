// Activations, affine, add, multiply, concat, softmax and channel shuffle against formulas
// evaluated here in Float64.

import CNNKernels
import Foundation
import Testing

let activationCases: [(Activation, @Sendable (Double) -> Double)] = [
    (.relu, { max(0, $0) }),
    (.clip(min: -0.5, max: 1.5), { min(max($0, -0.5), 1.5) }),
    (.leakyRelu(alpha: 0.01), { $0 >= 0 ? $0 : 0.01 * $0 }),
    (.sigmoid, { 1 / (1 + exp(-$0)) }),
    (.tanh, { tanh($0) }),
    (.hardSigmoid(alpha: 0.2, beta: 0.5), { min(max(0.2 * $0 + 0.5, 0), 1) }),
    (.hardSwish, { $0 * min(max($0 + 3, 0), 6) / 6 }),
    (.silu, { $0 / (1 + exp(-$0)) }),
]

@Suite struct ElementwiseTests {
    @Test func activations() {
        func check<T: KernelScalar>(_: T.Type) {
            var r = TestRandom(3)
            // Wide range, including values that overflow exp in a naive sigmoid.
            var x = r.values(5000, T.self, -8, 8)
            x += [0, -0.0, 3, -3, 80, -80, 100, -100, 700, -700].map { Double(T($0)) }
            for (act, f) in activationCases {
                let got = run(T.self, [x], outputCount: x.count) { p, o in
                    activate(act, input: p[0], output: o, count: x.count)
                }
                expectClose(got, x.map(f), tolerance: tolerance(T.self), "\(T.self) \(act)")
                // In place.
                var buffer = x.map { T($0) }
                buffer.withUnsafeMutableBufferPointer { b in
                    activate(act, input: UnsafePointer(b.baseAddress!), output: b.baseAddress!, count: b.count)
                }
                expectClose(
                    buffer.map(Double.init), x.map(f), tolerance: tolerance(T.self), "\(T.self) in place \(act)")
            }
        }
        check(Float.self)
        check(Double.self)
    }

    @Test func largeActivationRunsInParallelAndMatches() {
        let n = 300_001
        var r = TestRandom(4)
        let x = r.values(n, Float.self, -5, 5)
        let got = run(Float.self, [x], outputCount: n) { p, o in activate(.silu, input: p[0], output: o, count: n) }
        expectClose(got, x.map { $0 / (1 + exp(-$0)) }, tolerance: 1e-5, "large silu")
    }

    @Test func channelAffineAndMultiply() {
        func check<T: KernelScalar>(_: T.Type) {
            let s = Shape4D(batch: 2, channels: 3, height: 4, width: 5)
            var r = TestRandom(8)
            let x = r.values(s.count, T.self), a = r.values(3, T.self), b = r.values(3, T.self)
            let y = r.values(s.count, T.self), sc = r.values(6, T.self)
            let got = run(T.self, [x, a, b], outputCount: s.count) { p, o in
                channelAffine(s, input: p[0], output: o, scale: p[1], shift: p[2])
            }
            let channel: [Int] = (0..<s.count).map { ($0 / 20) % 3 }
            let affineRef: [Double] = (0..<s.count).map { (i: Int) -> Double in a[channel[i]] * x[i] + b[channel[i]] }
            expectClose(got, affineRef, tolerance: tolerance(T.self), "affine")
            let noShift = run(T.self, [x, a], outputCount: s.count) { p, o in
                channelAffine(s, input: p[0], output: o, scale: p[1], shift: nil)
            }
            expectClose(
                noShift, (0..<s.count).map { (i: Int) -> Double in a[channel[i]] * x[i] }, tolerance: tolerance(T.self),
                "affine no shift")
            let scaled = run(T.self, [x], outputCount: s.count) { p, o in
                scale(input: p[0], output: o, count: s.count, by: 0.3)
            }
            expectClose(scaled, x.map { Double(T(0.3)) * $0 }, tolerance: tolerance(T.self), "scale")
            let prod = run(T.self, [x, y], outputCount: s.count) { p, o in
                multiply(p[0], p[1], output: o, count: s.count)
            }
            expectClose(prod, zip(x, y).map { $0 * $1 }, tolerance: tolerance(T.self), "mul")
            let bc = run(T.self, [x, sc], outputCount: s.count) { p, o in
                multiplyChannels(s, input: p[0], scale: p[1], output: o)
            }
            expectClose(bc, (0..<s.count).map { x[$0] * sc[$0 / 20] }, tolerance: tolerance(T.self), "mul broadcast")
            for k in 1...4 {
                let ins = (0..<k).map { _ in r.values(s.count, T.self) }
                let sum = run(T.self, ins, outputCount: s.count) { p, o in add(p, output: o, count: s.count) }
                let ref = (0..<s.count).map { i in ins.reduce(0) { $0 + $1[i] } }
                expectClose(sum, ref, tolerance: tolerance(T.self), "add of \(k)")
            }
        }
        check(Float.self)
        check(Double.self)
    }

    @Test func concatAlongEachAxis() throws {
        var r = TestRandom(21)
        for axis in 0..<4 {
            var shapes: [[Int]] = []
            let base = [2, 3, 4, 5]
            for extra in [1, 3, 2] { var s = base; s[axis] = extra; shapes.append(s) }
            let data = shapes.map { r.values($0.reduce(1, *), Double.self) }
            var outShape = base; outShape[axis] = 6
            let total = outShape.reduce(1, *)
            let got = try run(Double.self, data, outputCount: total) { p, o in
                try concat(zip(p, shapes).map { ($0, $1) }, axis: axis, output: o)
            }
            // Reference: walk the output by multi-index and read from the input that owns it.
            var ref = [Double](); ref.reserveCapacity(total)
            func strides(_ s: [Int]) -> [Int] { (0..<4).map { d in s[(d + 1)...].reduce(1, *) } }
            for i0 in 0..<outShape[0] {
                for i1 in 0..<outShape[1] {
                    for i2 in 0..<outShape[2] {
                        for i3 in 0..<outShape[3] {
                            var idx = [i0, i1, i2, i3]
                            var which = 0
                            while idx[axis] >= shapes[which][axis] { idx[axis] -= shapes[which][axis]; which += 1 }
                            let st = strides(shapes[which])
                            ref.append(data[which][zip(idx, st).map(*).reduce(0, +)])
                        }
                    }
                }
            }
            #expect(got == ref, "concat axis \(axis)")
        }
        #expect(throws: KernelError.self) {
            _ = try run(Double.self, [[1], [2]], outputCount: 2) { p, o in
                try concat([(p[0], [1, 1]), (p[1], [1, 1, 1])], axis: 0, output: o)
            }
        }
    }

    @Test func softmaxAlongEachAxis() throws {
        func check<T: KernelScalar>(_: T.Type) throws {
            let shape = [2, 3, 4, 5]
            var r = TestRandom(17)
            let x = r.values(120, T.self, -30, 30)
            for axis in 0..<4 {
                let got = try run(T.self, [x], outputCount: 120) { p, o in
                    try softmax(input: p[0], output: o, shape: shape, axis: axis)
                }
                let st = (0..<4).map { d in shape[(d + 1)...].reduce(1, *) }
                var ref = [Double](repeating: 0, count: 120)
                for i in 0..<120 {
                    let k = (i / st[axis]) % shape[axis]
                    let base = i - k * st[axis]
                    let row = (0..<shape[axis]).map { x[base + $0 * st[axis]] }
                    let m = row.max()!
                    ref[i] = exp(x[i] - m) / row.map { exp($0 - m) }.reduce(0, +)
                }
                expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) softmax axis \(axis)")
            }
        }
        try check(Float.self)
        try check(Double.self)
    }

    /// C = 6, groups = 2: channels [0 1 2 | 3 4 5] interleave to [0 3 1 4 2 5].
    @Test func channelShuffleOrder() throws {
        let s = Shape4D(batch: 2, channels: 6, height: 1, width: 2)
        let x = (0..<24).map(Double.init)
        let got = try run(Float.self, [x], outputCount: 24) { p, o in
            try channelShuffle(s, groups: 2, input: p[0], output: o)
        }
        let order = [0, 3, 1, 4, 2, 5]
        var ref: [Double] = []
        for n in 0..<2 { for c in order { ref.append(x[(n * 6 + c) * 2]); ref.append(x[(n * 6 + c) * 2 + 1]) } }
        #expect(got == ref)
        #expect(throws: KernelError.self) {
            _ = try run(Float.self, [x], outputCount: 24) { p, o in
                try channelShuffle(s, groups: 4, input: p[0], output: o)
            }
        }
    }
}
