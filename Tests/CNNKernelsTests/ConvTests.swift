// conv2d, convTranspose2d and linear against naive Float64 loops written here, on random and
// hand-picked geometries (odd sizes, stride > kernel, dilation, asymmetric padding, groups,
// depthwise, 1x1, batch > 1).

import CNNKernels
import Testing

struct ConvCase: CustomTestStringConvertible, Sendable {
    var n = 1, cin = 1, h = 1, w = 1, cout = 1
    var k = Size2D(1), s = Size2D(1), d = Size2D(1), pad = Padding2D.zero, groups = 1
    var bias = true
    var testDescription: String {
        "N\(n) C\(cin)->\(cout) \(h)x\(w) k\(k) s\(s) d\(d) p\(pad) g\(groups) bias:\(bias)"
    }
    var input: Shape4D { Shape4D(batch: n, channels: cin, height: h, width: w) }
}

/// Output length from the formula in the brief, computed independently of the kernels.
func convOut(_ i: Int, _ k: Int, _ s: Int, _ d: Int, _ pb: Int, _ pe: Int) -> Int {
    let span = i + pb + pe - d * (k - 1) - 1
    return span < 0 ? 0 : span / s + 1
}

func naiveConv(_ c: ConvCase, x: [Double], w: [Double], b: [Double]?) -> [Double] {
    let oh = convOut(c.h, c.k.height, c.s.height, c.d.height, c.pad.top, c.pad.bottom)
    let ow = convOut(c.w, c.k.width, c.s.width, c.d.width, c.pad.left, c.pad.right)
    let cinG = c.cin / c.groups, coutG = c.cout / c.groups
    var out = [Double](repeating: 0, count: c.n * c.cout * oh * ow)
    for n in 0..<c.n {
        for oc in 0..<c.cout {
            let g = oc / coutG
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc = b?[oc] ?? 0
                    for icg in 0..<cinG {
                        let ic = g * cinG + icg
                        for ki in 0..<c.k.height {
                            for kj in 0..<c.k.width {
                                let iy = oy * c.s.height - c.pad.top + ki * c.d.height
                                let ix = ox * c.s.width - c.pad.left + kj * c.d.width
                                if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w { continue }
                                acc +=
                                    x[((n * c.cin + ic) * c.h + iy) * c.w + ix]
                                    * w[((oc * cinG + icg) * c.k.height + ki) * c.k.width + kj]
                            }
                        }
                    }
                    out[((n * c.cout + oc) * oh + oy) * ow + ox] = acc
                }
            }
        }
    }
    return out
}

func randomConvCase(_ r: inout TestRandom) -> ConvCase {
    while true {
        var c = ConvCase()
        c.n = r.int(1...3)
        c.groups = [1, 1, 2, 3][r.int(0...3)]
        c.cin = c.groups * r.int(1...4)
        c.cout = c.groups * r.int(1...4)
        c.h = r.int(1...13); c.w = r.int(1...13)
        c.k = Size2D(r.int(1...5), r.int(1...5))
        c.s = Size2D(r.int(1...4), r.int(1...4))
        c.d = Size2D(r.int(1...3), r.int(1...3))
        c.pad = Padding2D(top: r.int(0...3), left: r.int(0...3), bottom: r.int(0...3), right: r.int(0...3))
        c.bias = r.bool()
        if convOut(c.h, c.k.height, c.s.height, c.d.height, c.pad.top, c.pad.bottom) > 0,
            convOut(c.w, c.k.width, c.s.width, c.d.width, c.pad.left, c.pad.right) > 0
        {
            return c
        }
    }
}

let namedConvCases: [ConvCase] = [
    // pointwise (GEMM without im2col), batch > 1
    ConvCase(n: 2, cin: 5, h: 7, w: 9, cout: 6),
    // 1x1 stride 2 (ResNet downsample)
    ConvCase(n: 1, cin: 4, h: 9, w: 8, cout: 8, s: Size2D(2)),
    // stride larger than the kernel
    ConvCase(n: 2, cin: 3, h: 11, w: 10, cout: 2, k: Size2D(2), s: Size2D(3)),
    // 3x3 pad 1 (ResNet body)
    ConvCase(n: 1, cin: 8, h: 14, w: 14, cout: 8, k: Size2D(3), pad: Padding2D(1)),
    // 7x7 stride 2 pad 3 (ResNet stem), odd size
    ConvCase(n: 1, cin: 3, h: 23, w: 21, cout: 4, k: Size2D(7), s: Size2D(2), pad: Padding2D(3)),
    // dilation with asymmetric padding ("same" padding of TF)
    ConvCase(
        n: 1, cin: 4, h: 10, w: 13, cout: 3, k: Size2D(3, 2), d: Size2D(2, 3),
        pad: Padding2D(top: 2, left: 1, bottom: 1, right: 2)),
    // depthwise 3x3 stride 2 asymmetric padding (MobileNet)
    ConvCase(
        n: 2, cin: 6, h: 9, w: 10, cout: 6, k: Size2D(3), s: Size2D(2),
        pad: Padding2D(top: 0, left: 1, bottom: 1, right: 0), groups: 6),
    // depthwise with a channel multiplier of 3, dilation, no bias
    ConvCase(n: 1, cin: 4, h: 8, w: 7, cout: 12, k: Size2D(3), d: Size2D(2), pad: Padding2D(2), groups: 4, bias: false),
    // depthwise 5x5 stride 3 on a tiny input
    ConvCase(n: 3, cin: 5, h: 3, w: 2, cout: 5, k: Size2D(5), s: Size2D(3), pad: Padding2D(2), groups: 5),
    // grouped 2 groups, kernel larger than the input (padding makes it fit)
    ConvCase(n: 1, cin: 4, h: 2, w: 3, cout: 6, k: Size2D(4), pad: Padding2D(2), groups: 2),
    // 1x1 input, 1x1 output
    ConvCase(n: 2, cin: 3, h: 1, w: 1, cout: 2),
]

func checkConv<T: KernelScalar>(_: T.Type, _ c: ConvCase, seed: UInt64, workspace: Workspace? = nil) throws {
    let g = try ConvGeometry(
        input: c.input, outChannels: c.cout, kernel: c.k, stride: c.s,
        dilation: c.d, padding: c.pad, groups: c.groups)
    let oh = convOut(c.h, c.k.height, c.s.height, c.d.height, c.pad.top, c.pad.bottom)
    let ow = convOut(c.w, c.k.width, c.s.width, c.d.width, c.pad.left, c.pad.right)
    #expect(g.output == Shape4D(batch: c.n, channels: c.cout, height: oh, width: ow), "\(c.testDescription)")
    var r = TestRandom(seed)
    let x = r.values(g.input.count, T.self), w = r.values(g.weightCount, T.self), b = r.values(c.cout, T.self)
    let got = run(T.self, [x, w, b], outputCount: g.output.count) { p, out in
        conv2d(g, input: p[0], weight: p[1], bias: c.bias ? p[2] : nil, output: out, workspace: workspace)
    }
    let ref = naiveConv(c, x: x, w: w, b: c.bias ? b : nil)
    expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) conv \(c.testDescription)")
}

@Suite struct ConvolutionTests {
    @Test(arguments: namedConvCases)
    func namedCases(_ c: ConvCase) throws {
        try checkConv(Float.self, c, seed: 1)
        try checkConv(Double.self, c, seed: 2)
    }

    @Test func randomGeometries() throws {
        var r = TestRandom(42)
        let ws = Workspace()  // shared: exercises growth and reuse across geometries
        for i in 0..<150 {
            let c = randomConvCase(&r)
            try checkConv(Float.self, c, seed: UInt64(i), workspace: ws)
            try checkConv(Double.self, c, seed: UInt64(i), workspace: ws)
        }
    }

    /// Layers large enough to be cut into column tiles and split across threads (tiled im2col,
    /// row-split im2col + M-split GEMM, pointwise N-split GEMM, depthwise planes), with 1, 2
    /// and 3 threads (3 gives uneven chunks).
    @Test func correctWithAnyThreadCount() throws {
        let cases = [
            ConvCase(n: 2, cin: 16, h: 33, w: 31, cout: 16, k: Size2D(3), pad: Padding2D(1)),
            ConvCase(n: 1, cin: 64, h: 7, w: 7, cout: 40, k: Size2D(3), pad: Padding2D(1)),
            ConvCase(
                n: 1, cin: 24, h: 29, w: 30, cout: 20, k: Size2D(2, 3), s: Size2D(1, 2),
                pad: Padding2D(top: 1, left: 0, bottom: 0, right: 2), groups: 2),
            ConvCase(n: 2, cin: 32, h: 40, w: 40, cout: 48),
            ConvCase(n: 2, cin: 32, h: 40, w: 40, cout: 32, k: Size2D(3), s: Size2D(2), pad: Padding2D(1), groups: 32),
        ]
        for threads in [1, 2, 3] {
            try KernelThreads.withCount(threads) {
                for c in cases {
                    try checkConv(Float.self, c, seed: 9)
                    try checkConv(Double.self, c, seed: 9)
                }
            }
        }
    }

    @Test func invalidGeometriesThrow() {
        let x = Shape4D(batch: 1, channels: 4, height: 5, width: 5)
        #expect(throws: KernelError.groupsDoNotDivide(channels: 4, groups: 3)) {
            try ConvGeometry(input: x, outChannels: 6, kernel: Size2D(3), groups: 3)
        }
        #expect(throws: KernelError.self) { try ConvGeometry(input: x, outChannels: 4, kernel: Size2D(7)) }
        #expect(throws: KernelError.self) {
            try ConvGeometry(input: x, outChannels: 4, kernel: Size2D(3), stride: Size2D(0))
        }
        #expect(throws: KernelError.self) {
            try ConvGeometry(
                input: x, outChannels: 4, kernel: Size2D(3), padding: Padding2D(top: -1, left: 0, bottom: 0, right: 0))
        }
        // A 3x3 kernel with dilation 3 spans 7 pixels: fits only with 2 pixels of padding.
        #expect(throws: KernelError.self) {
            try ConvGeometry(input: x, outChannels: 4, kernel: Size2D(3), dilation: Size2D(3))
        }
        #expect(throws: Never.self) {
            try ConvGeometry(input: x, outChannels: 4, kernel: Size2D(3), dilation: Size2D(3), padding: Padding2D(1))
        }
    }
}

// MARK: - Transposed convolution

struct ConvTCase: CustomTestStringConvertible, Sendable {
    var base: ConvCase
    var outPad = Size2D(0)
    var testDescription: String { base.testDescription + " outPad \(outPad)" }
}

/// Scatter definition: every input pixel adds `x·w` at `iy·stride − pad + ki·dilation`.
func naiveConvTranspose(_ t: ConvTCase, x: [Double], w: [Double], b: [Double]?) -> (oh: Int, ow: Int, out: [Double]) {
    let c = t.base
    let oh = (c.h - 1) * c.s.height - c.pad.top - c.pad.bottom + c.d.height * (c.k.height - 1) + t.outPad.height + 1
    let ow = (c.w - 1) * c.s.width - c.pad.left - c.pad.right + c.d.width * (c.k.width - 1) + t.outPad.width + 1
    let cinG = c.cin / c.groups, coutG = c.cout / c.groups
    var out = [Double](repeating: 0, count: c.n * c.cout * oh * ow)
    for n in 0..<c.n {
        for oc in 0..<c.cout {
            for i in 0..<(oh * ow) { out[(n * c.cout + oc) * oh * ow + i] = b?[oc] ?? 0 }
        }
        for ic in 0..<c.cin {
            let g = ic / cinG
            for iy in 0..<c.h {
                for ix in 0..<c.w {
                    let xv = x[((n * c.cin + ic) * c.h + iy) * c.w + ix]
                    for ocg in 0..<coutG {
                        for ki in 0..<c.k.height {
                            for kj in 0..<c.k.width {
                                let oy = iy * c.s.height - c.pad.top + ki * c.d.height
                                let ox = ix * c.s.width - c.pad.left + kj * c.d.width
                                if oy < 0 || oy >= oh || ox < 0 || ox >= ow { continue }
                                let oc = g * coutG + ocg
                                out[((n * c.cout + oc) * oh + oy) * ow + ox] +=
                                    xv * w[((ic * coutG + ocg) * c.k.height + ki) * c.k.width + kj]
                            }
                        }
                    }
                }
            }
        }
    }
    return (oh, ow, out)
}

func checkConvTranspose<T: KernelScalar>(_: T.Type, _ t: ConvTCase, seed: UInt64) throws {
    let c = t.base
    let g = try ConvTransposeGeometry(
        input: c.input, outChannels: c.cout, kernel: c.k, stride: c.s,
        dilation: c.d, padding: c.pad, outputPadding: t.outPad, groups: c.groups)
    var r = TestRandom(seed)
    let x = r.values(g.input.count, T.self), w = r.values(g.weightCount, T.self), b = r.values(c.cout, T.self)
    let got = run(T.self, [x, w, b], outputCount: g.output.count) { p, out in
        convTranspose2d(g, input: p[0], weight: p[1], bias: c.bias ? p[2] : nil, output: out)
    }
    let ref = naiveConvTranspose(t, x: x, w: w, b: c.bias ? b : nil)
    #expect(g.output.height == ref.oh && g.output.width == ref.ow, "\(t.testDescription)")
    expectClose(got, ref.out, tolerance: tolerance(T.self), "\(T.self) convTranspose \(t.testDescription)")
}

@Suite struct ConvTransposeTests {
    @Test func namedCases() throws {
        let cases = [
            // 2x upsampling, kernel 4 stride 2 pad 1 (DCGAN)
            ConvTCase(base: ConvCase(n: 2, cin: 4, h: 5, w: 6, cout: 3, k: Size2D(4), s: Size2D(2), pad: Padding2D(1))),
            // stride 2 kernel 3 pad 1 output padding 1 (exact 2x)
            ConvTCase(
                base: ConvCase(n: 1, cin: 3, h: 4, w: 7, cout: 5, k: Size2D(3), s: Size2D(2), pad: Padding2D(1)),
                outPad: Size2D(1)),
            // pointwise, grouped, no bias
            ConvTCase(base: ConvCase(n: 2, cin: 4, h: 3, w: 5, cout: 6, groups: 2, bias: false)),
            // depthwise, dilation, asymmetric padding, stride > kernel
            ConvTCase(
                base: ConvCase(
                    n: 1, cin: 3, h: 5, w: 4, cout: 3, k: Size2D(2, 3), s: Size2D(3), d: Size2D(2, 1),
                    pad: Padding2D(top: 1, left: 0, bottom: 2, right: 1), groups: 3),
                outPad: Size2D(2, 1)),
        ]
        for (i, t) in cases.enumerated() {
            try checkConvTranspose(Float.self, t, seed: UInt64(i))
            try checkConvTranspose(Double.self, t, seed: UInt64(i))
        }
    }

    @Test func randomGeometries() throws {
        var r = TestRandom(7)
        var done = 0
        while done < 80 {
            var c = randomConvCase(&r)
            c.pad = Padding2D(top: r.int(0...2), left: r.int(0...2), bottom: r.int(0...2), right: r.int(0...2))
            let t = ConvTCase(
                base: c,
                outPad: Size2D(
                    r.int(0...(max(c.s.height, c.d.height) - 1)),
                    r.int(0...(max(c.s.width, c.d.width) - 1))))
            guard
                (try? ConvTransposeGeometry(
                    input: c.input, outChannels: c.cout, kernel: c.k, stride: c.s,
                    dilation: c.d, padding: c.pad, outputPadding: t.outPad,
                    groups: c.groups)) != nil
            else { continue }
            try checkConvTranspose(Float.self, t, seed: UInt64(done))
            try checkConvTranspose(Double.self, t, seed: UInt64(done))
            done += 1
        }
    }
}

// MARK: - Linear

@Test(arguments: [(1, 1, 1), (1, 17, 5), (3, 64, 10), (4, 7, 129)])
func linearMatchesNaive(batch: Int, inFeatures: Int, outFeatures: Int) {
    func check<T: KernelScalar>(_: T.Type, bias: Bool) {
        var r = TestRandom(UInt64(batch * 1000 + inFeatures))
        let x = r.values(batch * inFeatures, T.self), w = r.values(outFeatures * inFeatures, T.self)
        let b = r.values(outFeatures, T.self)
        let got = run(T.self, [x, w, b], outputCount: batch * outFeatures) { p, out in
            linear(
                input: p[0], weight: p[1], bias: bias ? p[2] : nil, output: out,
                batch: batch, inFeatures: inFeatures, outFeatures: outFeatures)
        }
        var ref = [Double](repeating: 0, count: batch * outFeatures)
        for n in 0..<batch {
            for o in 0..<outFeatures {
                var acc = bias ? b[o] : 0
                for i in 0..<inFeatures { acc += x[n * inFeatures + i] * w[o * inFeatures + i] }
                ref[n * outFeatures + o] = acc
            }
        }
        expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) linear bias:\(bias)")
    }
    for bias in [true, false] {
        check(Float.self, bias: bias)
        check(Double.self, bias: bias)
    }
}

/// Plain matmul, including shapes split across threads along N (wide) and along M (tall).
@Test(arguments: [(1, 1, 1), (3, 5, 7), (200, 17, 33), (9, 300, 40), (64, 1000, 64)])
func matmulMatchesNaive(m: Int, n: Int, k: Int) {
    func check<T: KernelScalar>(_: T.Type) {
        var r = TestRandom(UInt64(m * 7 + n * 3 + k))
        let a = r.values(m * k, T.self), b = r.values(k * n, T.self)
        let got = run(T.self, [a, b], outputCount: m * n) { p, o in matmul(p[0], p[1], into: o, m: m, n: n, k: k) }
        var ref = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for t in 0..<k { ref[i * n + j] += a[i * k + t] * b[t * n + j] } } }
        expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) matmul \(m)x\(n)x\(k)")
    }
    check(Float.self)
    check(Double.self)
}
