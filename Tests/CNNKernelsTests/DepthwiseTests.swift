// The depthwise kernel (Depthwise.swift) at every accumulator width against the naive Float64
// convolution of ConvTests.swift: rows wide enough for the wide and the narrow vector and a
// scalar tail, strides 1–3 (column phases), dilation, asymmetric padding, channel multipliers,
// planes too small to have an inside, batch > 1, and thread counts 1–3.

@_spi(Testing) import CNNKernels
import Testing

/// Runs the depthwise kernel at `width` on random data and compares with `naiveConv`.
func checkDepthwise<T: KernelScalar>(_: T.Type, _ c: ConvCase, width: Int, seed: UInt64) throws {
    let g = try ConvGeometry(
        input: c.input, outChannels: c.cout, kernel: c.k, stride: c.s,
        dilation: c.d, padding: c.pad, groups: c.groups)
    #expect(g.isDepthwise, "\(c.testDescription)")
    var r = TestRandom(seed)
    let x = r.values(g.input.count, T.self), w = r.values(g.weightCount, T.self), b = r.values(c.cout, T.self)
    let got = run(T.self, [x, w, b], outputCount: g.output.count) { p, out in
        depthwiseConv2d(g, input: p[0], weight: p[1], bias: c.bias ? p[2] : nil, output: out, vectorWidth: width)
    }
    let ref = naiveConv(c, x: x, w: w, b: c.bias ? b : nil)
    expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) width \(width) depthwise \(c.testDescription)")
}

let depthwiseCases: [ConvCase] = [
    // MobileNetV2 3×3 stride 1 pad 1, a width that leaves a wide, a narrow and a scalar part
    ConvCase(n: 2, cin: 3, h: 13, w: 29, cout: 3, k: Size2D(3), pad: Padding2D(1), groups: 3),
    // 3×3 stride 2 pad 1 (MobileNetV2's downsampling), odd and even widths
    ConvCase(n: 1, cin: 4, h: 17, w: 37, cout: 4, k: Size2D(3), s: Size2D(2), pad: Padding2D(1), groups: 4),
    ConvCase(
        n: 1, cin: 2, h: 16, w: 40, cout: 2, k: Size2D(3), s: Size2D(2), pad: Padding2D(1), groups: 2, bias: false),
    // TF "same" padding for stride 2 (pad only bottom/right)
    ConvCase(
        n: 1, cin: 3, h: 20, w: 34, cout: 3, k: Size2D(3), s: Size2D(2),
        pad: Padding2D(top: 0, left: 0, bottom: 1, right: 1), groups: 3),
    // 5×5 stride 3 with dilation 2 and asymmetric padding
    ConvCase(
        n: 1, cin: 2, h: 31, w: 61, cout: 2, k: Size2D(5), s: Size2D(3), d: Size2D(2),
        pad: Padding2D(top: 3, left: 1, bottom: 2, right: 4), groups: 2),
    // channel multiplier 2, non-square kernel, stride (1, 2)
    ConvCase(
        n: 1, cin: 3, h: 12, w: 45, cout: 6, k: Size2D(2, 4), s: Size2D(1, 2),
        pad: Padding2D(top: 1, left: 2, bottom: 0, right: 1), groups: 3),
    // 7×7 planes (MobileNetV2's last stage): the inside is narrower than a wide vector
    ConvCase(n: 2, cin: 5, h: 7, w: 7, cout: 5, k: Size2D(3), pad: Padding2D(1), groups: 5),
    // kernel wider than the input: no inside at all
    ConvCase(n: 1, cin: 2, h: 3, w: 4, cout: 2, k: Size2D(5), pad: Padding2D(2), groups: 2),
    // 1×1 depthwise (a per-channel scale), no padding
    ConvCase(n: 1, cin: 3, h: 5, w: 19, cout: 3, groups: 3),
]

@Suite struct DepthwiseTests {
    @Test(arguments: depthwiseCases)
    func everyWidth(_ c: ConvCase) throws {
        for width in [1, 4, 8, 16] { try checkDepthwise(Float.self, c, width: width, seed: 3) }
        for width in [1, 2, 4, 8] { try checkDepthwise(Double.self, c, width: width, seed: 4) }
    }

    @Test func randomDepthwiseGeometries() throws {
        var r = TestRandom(77)
        var checked = 0
        while checked < 120 {
            var c = randomConvCase(&r)
            let channels = r.int(1...4)
            c.groups = channels
            c.cin = channels
            c.cout = channels * r.int(1...3)
            c.w = r.int(1...40)
            guard convOut(c.w, c.k.width, c.s.width, c.d.width, c.pad.left, c.pad.right) > 0, channels > 1 else {
                continue
            }
            let width = [1, 4, 8, 16][checked % 4]
            try checkDepthwise(Float.self, c, width: width, seed: UInt64(checked))
            try checkDepthwise(Double.self, c, width: min(width, 8), seed: UInt64(checked))
            checked += 1
        }
    }

    @Test func anyThreadCount() throws {
        let c = ConvCase(
            n: 2, cin: 24, h: 30, w: 30, cout: 24, k: Size2D(3), s: Size2D(2), pad: Padding2D(1), groups: 24)
        for threads in [1, 2, 3] {
            try KernelThreads.withCount(threads) {
                try checkDepthwise(Float.self, c, width: 8, seed: 5)
                try checkDepthwise(Double.self, c, width: 4, seed: 6)
            }
        }
    }
}
