// Pooling against naive loops: max with dilation, average with and without padding in the
// divisor (PyTorch's hstart/hend rule), ceil mode, asymmetric padding; global pools.

import CNNKernels
import Testing

/// Pool output length with the PyTorch/ONNX ceil-mode rule, written out independently.
func poolOut(_ i: Int, _ k: Int, _ s: Int, _ d: Int, _ pb: Int, _ pe: Int, ceil: Bool) -> Int {
    let span = i + pb + pe - d * (k - 1) - 1
    if span < 0 { return 0 }
    var o = (ceil ? Int((Double(span) / Double(s)).rounded(.up)) : span / s) + 1
    if ceil && (o - 1) * s >= i + pb { o -= 1 }
    return o
}

struct PoolCase: CustomTestStringConvertible, Sendable {
    var n = 1, c = 1, h = 1, w = 1
    var k = Size2D(2), s = Size2D(2), d = Size2D(1), pad = Padding2D.zero, ceil = false
    var testDescription: String { "N\(n) C\(c) \(h)x\(w) k\(k) s\(s) d\(d) p\(pad) ceil:\(ceil)" }
}

func randomPoolCase(_ r: inout TestRandom, dilation: Bool) -> PoolCase {
    while true {
        var p = PoolCase()
        p.n = r.int(1...2); p.c = r.int(1...3); p.h = r.int(1...12); p.w = r.int(1...12)
        p.k = Size2D(r.int(1...4), r.int(1...4))
        p.s = Size2D(r.int(1...4), r.int(1...4))
        p.d = dilation ? Size2D(r.int(1...2), r.int(1...2)) : .one
        // PyTorch requires pad <= kernel/2; keep to that so windows are never all padding.
        p.pad = Padding2D(
            top: r.int(0...(p.k.height / 2)), left: r.int(0...(p.k.width / 2)),
            bottom: r.int(0...(p.k.height / 2)), right: r.int(0...(p.k.width / 2)))
        p.ceil = r.bool()
        if poolOut(p.h, p.k.height, p.s.height, p.d.height, p.pad.top, p.pad.bottom, ceil: p.ceil) > 0,
            poolOut(p.w, p.k.width, p.s.width, p.d.width, p.pad.left, p.pad.right, ceil: p.ceil) > 0
        {
            return p
        }
    }
}

func naivePool(_ p: PoolCase, x: [Double], max isMax: Bool, includePad: Bool) -> [Double] {
    let oh = poolOut(p.h, p.k.height, p.s.height, p.d.height, p.pad.top, p.pad.bottom, ceil: p.ceil)
    let ow = poolOut(p.w, p.k.width, p.s.width, p.d.width, p.pad.left, p.pad.right, ceil: p.ceil)
    var out = [Double]()
    for plane in 0..<(p.n * p.c) {
        for oy in 0..<oh {
            for ox in 0..<ow {
                if isMax {
                    var m = -Double.infinity
                    for ki in 0..<p.k.height {
                        for kj in 0..<p.k.width {
                            let iy = oy * p.s.height - p.pad.top + ki * p.d.height
                            let ix = ox * p.s.width - p.pad.left + kj * p.d.width
                            if iy >= 0 && iy < p.h && ix >= 0 && ix < p.w {
                                m = max(m, x[(plane * p.h + iy) * p.w + ix])
                            }
                        }
                    }
                    out.append(m)
                } else {
                    // PyTorch avg_pool2d (dilation 1).
                    var hs = oy * p.s.height - p.pad.top, ws = ox * p.s.width - p.pad.left
                    var he = min(hs + p.k.height, p.h + p.pad.bottom), we = min(ws + p.k.width, p.w + p.pad.right)
                    let poolSize = (he - hs) * (we - ws)
                    hs = max(hs, 0); ws = max(ws, 0); he = min(he, p.h); we = min(we, p.w)
                    var sum = 0.0
                    for iy in hs..<max(hs, he) {
                        for ix in ws..<max(ws, we) { sum += x[(plane * p.h + iy) * p.w + ix] }
                    }
                    let divisor = includePad ? poolSize : (he - hs) * (we - ws)
                    out.append(sum / Double(divisor))
                }
            }
        }
    }
    return out
}

func checkPool<T: KernelScalar>(_: T.Type, _ p: PoolCase, max isMax: Bool, includePad: Bool, seed: UInt64) throws {
    let g = try PoolGeometry(
        input: Shape4D(batch: p.n, channels: p.c, height: p.h, width: p.w),
        kernel: p.k, stride: p.s, dilation: p.d, padding: p.pad, ceilMode: p.ceil)
    var r = TestRandom(seed)
    let x = r.values(g.input.count, T.self)
    let got = run(T.self, [x], outputCount: g.output.count) { ptr, out in
        if isMax {
            maxPool2d(g, input: ptr[0], output: out)
        } else {
            averagePool2d(g, input: ptr[0], output: out, countIncludePadding: includePad)
        }
    }
    let ref = naivePool(p, x: x, max: isMax, includePad: includePad)
    expectClose(
        got, ref, tolerance: tolerance(T.self),
        "\(T.self) \(isMax ? "max" : "avg") pad:\(includePad) \(p.testDescription)")
}

@Suite struct PoolingTests {
    /// Output sizes PyTorch documents/produces for these settings.
    @Test func outputSizes() throws {
        func size(_ i: Int, k: Int, s: Int, p: Int, ceil: Bool) throws -> Int {
            try PoolGeometry(
                input: Shape4D(batch: 1, channels: 1, height: i, width: i), kernel: Size2D(k),
                stride: Size2D(s), padding: Padding2D(p), ceilMode: ceil
            ).output.height
        }
        #expect(try size(112, k: 3, s: 2, p: 1, ceil: false) == 56)  // ResNet stem max pool
        #expect(try size(6, k: 3, s: 2, p: 0, ceil: false) == 2)
        #expect(try size(6, k: 3, s: 2, p: 0, ceil: true) == 3)
        // ceil would give 4, but the 4th window would start in the end padding (index 6 >= 5+1).
        #expect(try size(5, k: 2, s: 2, p: 1, ceil: true) == 3)
        #expect(try size(55, k: 3, s: 2, p: 0, ceil: true) == 27)  // SqueezeNet/GoogLeNet style
        #expect(try size(56, k: 3, s: 2, p: 0, ceil: true) == 28)
    }

    @Test func randomMax() throws {
        var r = TestRandom(11)
        for i in 0..<150 {
            let p = randomPoolCase(&r, dilation: true)
            try checkPool(Float.self, p, max: true, includePad: false, seed: UInt64(i))
            try checkPool(Double.self, p, max: true, includePad: false, seed: UInt64(i))
        }
    }

    @Test(arguments: [true, false])
    func randomAverage(includePad: Bool) throws {
        var r = TestRandom(includePad ? 12 : 13)
        for i in 0..<150 {
            let p = randomPoolCase(&r, dilation: false)
            try checkPool(Float.self, p, max: false, includePad: includePad, seed: UInt64(i))
            try checkPool(Double.self, p, max: false, includePad: includePad, seed: UInt64(i))
        }
    }

    /// 3x3 average, stride 2, pad 1, ceil mode on a 4x4 of ones: windows in the padding are
    /// counted (1·4/9 at the corner) or not (1).
    @Test func averageHandExample() throws {
        let g = try PoolGeometry(
            input: Shape4D(batch: 1, channels: 1, height: 4, width: 4), kernel: Size2D(3),
            stride: Size2D(2), padding: Padding2D(1), ceilMode: true)
        #expect(g.output.height == 3)  // ceil((4+2-3)/2)+1 = 3; last start 4-1=3 < 4+1
        let ones = [Double](repeating: 1, count: 16)
        let incl = run(Double.self, [ones], outputCount: 9) { p, o in
            averagePool2d(g, input: p[0], output: o, countIncludePadding: true)
        }
        let excl = run(Double.self, [ones], outputCount: 9) { p, o in
            averagePool2d(g, input: p[0], output: o, countIncludePadding: false)
        }
        #expect(excl == [Double](repeating: 1, count: 9))
        // Corner (0,0): rows -1..1 (3 in padded range, 2 real) -> 4/9. Last row/col window
        // starts at 3: taps 3,4,5 — 4 is end padding (counted), 5 beyond it (not): 2 real of 2 counted.
        #expect(abs(incl[0] - 4.0 / 9.0) < 1e-15)
        #expect(abs(incl[1] - 6.0 / 9.0) < 1e-15)
        #expect(abs(incl[2] - 2.0 / 6.0) < 1e-15)  // rows: 2 real of 3 counted; cols: 1 real of 2 counted
        #expect(abs(incl[8] - 1.0 / 4.0) < 1e-15)  // rows and cols: 1 real of 2 counted
    }

    /// NaN propagates through max pooling (as in PyTorch); +inf and −inf in one window are not
    /// mistaken for a NaN. 3x3 and 2x2 windows take different code paths.
    @Test(arguments: [3, 2])
    func maxPoolNaNAndInfinities(kernel: Int) throws {
        var x = (0..<49).map { Double($0 % 11) }
        x[3 * 7 + 3] = .nan  // centre
        x[0] = .infinity; x[1] = -.infinity
        x[6 * 7 + 6] = -.infinity
        let p = PoolCase(n: 1, c: 1, h: 7, w: 7, k: Size2D(kernel), s: Size2D(1), pad: Padding2D(1))
        for t in [Precision.float, .double] {
            func check<T: KernelScalar>(_: T.Type) throws {
                let g = try PoolGeometry(
                    input: Shape4D(batch: 1, channels: 1, height: 7, width: 7), kernel: p.k,
                    stride: p.s, padding: p.pad)
                let got = run(T.self, [x], outputCount: g.output.count) { ptr, o in
                    maxPool2d(g, input: ptr[0], output: o)
                }
                let ow = g.output.width
                for y in 0..<g.output.height {
                    for xo in 0..<ow {
                        var window: [Double] = []
                        for ki in 0..<kernel {
                            for kj in 0..<kernel {
                                let iy = y - 1 + ki, ix = xo - 1 + kj
                                if iy >= 0 && iy < 7 && ix >= 0 && ix < 7 { window.append(x[iy * 7 + ix]) }
                            }
                        }
                        let want = window.contains { $0.isNaN } ? Double.nan : window.max()!
                        let v = got[y * ow + xo]
                        #expect(
                            v == want || (v.isNaN && want.isNaN),
                            "\(T.self) k\(kernel) at (\(y), \(xo)): \(v) vs \(want)")
                    }
                }
            }
            if t == .float { try check(Float.self) } else { try check(Double.self) }
        }
    }

    @Test func globalPools() {
        for t in [Precision.float, .double] {
            func check<T: KernelScalar>(_: T.Type) {
                let s = Shape4D(batch: 2, channels: 3, height: 5, width: 7)
                var r = TestRandom(5)
                let x = r.values(s.count, T.self)
                let avg = run(T.self, [x], outputCount: 6) { p, o in globalAveragePool(s, input: p[0], output: o) }
                let mx = run(T.self, [x], outputCount: 6) { p, o in globalMaxPool(s, input: p[0], output: o) }
                let planes = (0..<6).map { Array(x[($0 * 35)..<($0 * 35 + 35)]) }
                expectClose(avg, planes.map { $0.reduce(0, +) / 35 }, tolerance: tolerance(T.self), "global avg")
                expectClose(mx, planes.map { $0.max()! }, tolerance: 0, "global max")
            }
            if t == .float { check(Float.self) } else { check(Double.self) }
        }
    }
}
