// OneDNNConvolution (Float32 through oneDNN) against the naive Float64 convolution of
// ConvTests.swift: the same named and random geometries (odd sizes, padding, strides, dilation,
// groups, depthwise), NCHW, NHWC and channel-blocked buffers, the BatchNorm + ReLU/Clip epilogue, and thread
// counts other than the one the primitive was made for.

import CNNKernels
import Testing

/// NCHW → `layout` (or back with `inverse`), written here independently of oneDNN's reorders:
/// NHWC puts channels innermost; nChw8c/nChw16c put blocks of 8/16 channels innermost.
func relayout(_ v: [Double], n: Int, c: Int, h: Int, w: Int, to layout: TensorLayout, inverse: Bool = false) -> [Double]
{
    var out = v
    for b in 0..<n {
        for ch in 0..<c {
            for y in 0..<h {
                for x in 0..<w {
                    let nchw = ((b * c + ch) * h + y) * w + x
                    let other: Int
                    switch layout {
                    case .nchw: other = nchw
                    case .nhwc: other = ((b * h + y) * w + x) * c + ch
                    case .nChw8c, .nChw16c:
                        let k = layout == .nChw8c ? 8 : 16
                        other = (((b * (c / k) + ch / k) * h + y) * w + x) * k + ch % k
                    }
                    if inverse { out[nchw] = v[other] } else { out[other] = v[nchw] }
                }
            }
        }
    }
    return out
}

/// Runs one convolution through oneDNN and compares it with `naiveConv` plus the epilogue in Double.
func checkOneDNNConv(
    _ c: ConvCase, seed: UInt64, inputLayout: TensorLayout = .nchw, outputLayout: TensorLayout = .nchw,
    batchNorm: Bool = false, activation: Activation? = nil, threads: Int = 1, runThreads: Int? = nil
) throws {
    let g = try ConvGeometry(
        input: c.input, outChannels: c.cout, kernel: c.k, stride: c.s,
        dilation: c.d, padding: c.pad, groups: c.groups)
    let o = g.output
    var r = TestRandom(seed)
    let x = r.values(g.input.count, Float.self), w = r.values(g.weightCount, Float.self),
        b = r.values(c.cout, Float.self)
    // BatchNorm as centre/scale/shift; scales of both signs so ReLU and Clip both cut.
    let centre = r.values(c.cout, Float.self), scale = r.values(c.cout, Float.self, -2, 2),
        shift = r.values(c.cout, Float.self)
    var ref = naiveConv(c, x: x, w: w, b: c.bias ? b : nil)
    let plane = o.height * o.width
    for i in ref.indices {
        let ch = (i / plane) % c.cout
        var v = ref[i]
        if batchNorm { v = (v - centre[ch]) * scale[ch] + shift[ch] }
        switch activation {
        case .relu?: v = max(0, v)
        case .clip(let lo, let hi)?: v = min(max(v, lo), hi)
        default: break
        }
        ref[i] = v
    }
    let xIn = relayout(x, n: c.n, c: c.cin, h: c.h, w: c.w, to: inputLayout)
    var epilogue = ConvEpilogue(activation: activation)
    if batchNorm { epilogue.affine = (centre.map { Float($0) }, scale.map { Float($0) }, shift.map { Float($0) }) }
    var got = try run(Float.self, [xIn], outputCount: o.count) { p, out in
        let conv = try OneDNNConvolution(
            g, input: p[0], inputLayout: inputLayout, weight: w.map { Float($0) },
            bias: c.bias ? b.map { Float($0) } : nil, output: out, outputLayout: outputLayout,
            epilogue: epilogue, threads: threads)
        try conv(threads: runThreads ?? threads)
    }
    got = relayout(got, n: o.batch, c: o.channels, h: o.height, w: o.width, to: outputLayout, inverse: true)
    expectClose(
        got, ref, tolerance: 1e-5,
        "oneDNN conv \(c.testDescription) \(inputLayout)→\(outputLayout) bn:\(batchNorm) \(String(describing: activation))"
    )
}

@Suite struct OneDNNConvolutionTests {
    @Test(arguments: namedConvCases)
    func namedCases(_ c: ConvCase) throws {
        try checkOneDNNConv(c, seed: 3)
    }

    @Test func randomGeometries() throws {
        var r = TestRandom(43)
        for i in 0..<60 {
            try checkOneDNNConv(
                randomConvCase(&r), seed: UInt64(i), inputLayout: i % 2 == 0 ? .nchw : .nhwc,
                outputLayout: i % 3 == 0 ? .nchw : .nhwc, threads: 1 + i % 2)
        }
    }

    /// ResNet- and MobileNet-like layers (channel counts oneDNN blocks by 16 and by 8, depthwise)
    /// in every layout pair their channels allow, with the fused BatchNorm and activations.
    @Test(arguments: TensorLayout.allCases, TensorLayout.allCases)
    func layoutsAndEpilogues(_ input: TensorLayout, _ output: TensorLayout) throws {
        let cases = [
            ConvCase(n: 2, cin: 16, h: 15, w: 13, cout: 32, k: Size2D(3), pad: Padding2D(1)),
            ConvCase(n: 1, cin: 24, h: 9, w: 9, cout: 40, s: Size2D(2)),
            ConvCase(n: 1, cin: 3, h: 29, w: 27, cout: 16, k: Size2D(7), s: Size2D(2), pad: Padding2D(3), bias: false),
            ConvCase(
                n: 2, cin: 32, h: 11, w: 12, cout: 32, k: Size2D(3), s: Size2D(2),
                pad: Padding2D(top: 0, left: 1, bottom: 1, right: 0), groups: 32),
            ConvCase(n: 1, cin: 12, h: 10, w: 10, cout: 12, k: Size2D(3), d: Size2D(2), pad: Padding2D(2), groups: 3),
        ]
        for (i, c) in cases.enumerated() where c.cin % input.channelBlock == 0 && c.cout % output.channelBlock == 0 {
            try checkOneDNNConv(c, seed: UInt64(10 + i), inputLayout: input, outputLayout: output)
            try checkOneDNNConv(
                c, seed: UInt64(20 + i), inputLayout: input, outputLayout: output, batchNorm: true, activation: .relu)
            try checkOneDNNConv(
                c, seed: UInt64(30 + i), inputLayout: input, outputLayout: output, batchNorm: true,
                activation: .clip(min: 0, max: 0.5))
            try checkOneDNNConv(c, seed: UInt64(40 + i), inputLayout: input, outputLayout: output, activation: .relu)
        }
    }

    /// A primitive made for one thread count and run with another is remade, and still right.
    @Test func threadCounts() throws {
        let c = ConvCase(n: 2, cin: 32, h: 28, w: 28, cout: 48, k: Size2D(3), pad: Padding2D(1))
        for (made, run) in [(1, 1), (2, 2), (1, 2), (2, 1), (3, 3)] {
            try checkOneDNNConv(
                c, seed: 7, outputLayout: .nhwc, batchNorm: true, activation: .relu, threads: made, runThreads: run)
        }
    }

    @Test func wrongParameterSizesThrow() throws {
        let g = try ConvGeometry(
            input: Shape4D(batch: 1, channels: 2, height: 4, width: 4), outChannels: 3, kernel: Size2D(3))
        let x = [Float](repeating: 0, count: 32)
        var y = [Float](repeating: 0, count: 12)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                #expect(throws: OneDNNError.self) {
                    _ = try OneDNNConvolution(
                        g, input: xp.baseAddress!, weight: [Float](repeating: 0, count: 53), bias: nil,
                        output: yp.baseAddress!)
                }
                #expect(throws: OneDNNError.self) {
                    _ = try OneDNNConvolution(
                        g, input: xp.baseAddress!, weight: [Float](repeating: 0, count: 54), bias: [0, 0],
                        output: yp.baseAddress!)
                }
            }
        }
    }
}
