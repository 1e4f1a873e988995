// OneDNNConvolution (Float32 through oneDNN) against the naive Float64 convolution of
// ConvTests.swift: the same named and random geometries (odd sizes, padding, strides, dilation,
// groups, depthwise), NCHW, NHWC and channel-blocked buffers, the BatchNorm + ReLU/Clip epilogue, the
// residual sum into the output's previous contents (+ ReLU after it), and thread counts other than
// the one the primitive was made for; a 1×1 convolution with a depthwise one fused after it.

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

/// Runs one convolution through oneDNN and compares it with `naiveConv` plus the epilogue in Double
/// (with `residual`, plus random values the output buffer held before the call, then `activationAfterResidual`).
func checkOneDNNConv(
    _ c: ConvCase, seed: UInt64, inputLayout: TensorLayout = .nchw, outputLayout: TensorLayout = .nchw,
    batchNorm: Bool = false, activation: Activation? = nil, residual: Bool = false,
    activationAfterResidual: Activation? = nil, threads: Int = 1, runThreads: Int? = nil
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
    let prior = r.values(o.count, Float.self, -2, 2)
    var ref = naiveConv(c, x: x, w: w, b: c.bias ? b : nil)
    let plane = o.height * o.width
    func activate(_ v: Double, _ activation: Activation?) -> Double {
        switch activation {
        case .relu?: return max(0, v)
        case .clip(let lo, let hi)?: return min(max(v, lo), hi)
        default: return v
        }
    }
    for i in ref.indices {
        let ch = (i / plane) % c.cout
        var v = ref[i]
        if batchNorm { v = (v - centre[ch]) * scale[ch] + shift[ch] }
        v = activate(v, activation)
        if residual { v = activate(v + prior[i], activationAfterResidual) }
        ref[i] = v
    }
    let xIn = relayout(x, n: c.n, c: c.cin, h: c.h, w: c.w, to: inputLayout)
    var epilogue = ConvEpilogue(
        activation: activation, residual: residual, activationAfterResidual: activationAfterResidual)
    if batchNorm { epilogue.affine = (centre.map { Float($0) }, scale.map { Float($0) }, shift.map { Float($0) }) }
    let priorOut = relayout(prior, n: o.batch, c: o.channels, h: o.height, w: o.width, to: outputLayout)
    var got = try run(Float.self, [xIn], outputCount: o.count) { p, out in
        if residual { for i in priorOut.indices { out[i] = Float(priorOut[i]) } }
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
            + " residual:\(residual) \(String(describing: activationAfterResidual))"
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
            // Residual Adds: MobileNetV2's (BatchNorm, sum) and ResNet's (BatchNorm, sum, ReLU).
            try checkOneDNNConv(
                c, seed: UInt64(50 + i), inputLayout: input, outputLayout: output, batchNorm: true, residual: true)
            try checkOneDNNConv(
                c, seed: UInt64(60 + i), inputLayout: input, outputLayout: output, batchNorm: true,
                activation: .clip(min: 0, max: 0.5), residual: true, activationAfterResidual: .relu)
        }
    }

    /// MobileNet's 1×1 → depthwise 3×3 pair in one primitive (the dw post-op), both with BatchNorm
    /// and Clip, strides 1 and 2, odd and even sizes, in every layout pair the channels allow,
    /// against the two naive convolutions and epilogues in Double.
    @Test(arguments: TensorLayout.allCases, TensorLayout.allCases)
    func fusedDepthwise(_ input: TensorLayout, _ output: TensorLayout) throws {
        for (i, (n, cin, cout, h, w, stride)) in [(2, 16, 32, 9, 11, 1), (1, 24, 48, 14, 14, 2), (2, 16, 64, 7, 6, 2)]
            .enumerated()
        {
            var r = TestRandom(UInt64(70 + i))
            let pw = ConvCase(n: n, cin: cin, h: h, w: w, cout: cout)
            let dw = ConvCase(
                n: n, cin: cout, h: h, w: w, cout: cout, k: Size2D(3), s: Size2D(stride), pad: Padding2D(1),
                groups: cout)
            let pg = try ConvGeometry(input: pw.input, outChannels: cout, kernel: Size2D(1))
            let dg = try ConvGeometry(
                input: pg.output, outChannels: cout, kernel: Size2D(3), stride: Size2D(stride), padding: Padding2D(1),
                groups: cout)
            #expect(FusedDepthwise.fits(pg, dg))
            let x = r.values(pg.input.count, Float.self)
            let pwW = r.values(pg.weightCount, Float.self), pwB = r.values(cout, Float.self)
            let dwW = r.values(dg.weightCount, Float.self), dwB = r.values(cout, Float.self)
            /// A BatchNorm as centre/scale/shift (scales of both signs, so the Clip cuts at both ends).
            func batchNorm() -> (centre: [Double], scale: [Double], shift: [Double]) {
                (r.values(cout, Float.self), r.values(cout, Float.self, -2, 2), r.values(cout, Float.self))
            }
            let pwBN = batchNorm(), dwBN = batchNorm()
            func epilogue(_ v: [Double], _ bn: (centre: [Double], scale: [Double], shift: [Double]), plane: Int)
                -> [Double]
            {
                v.indices.map { i in
                    let ch = (i / plane) % cout
                    return min(max((v[i] - bn.centre[ch]) * bn.scale[ch] + bn.shift[ch], 0), 0.5)
                }
            }
            let mid = epilogue(naiveConv(pw, x: x, w: pwW, b: pwB), pwBN, plane: h * w)
            let o = dg.output
            let ref = epilogue(naiveConv(dw, x: mid, w: dwW, b: dwB), dwBN, plane: o.height * o.width)
            func converted(_ bn: (centre: [Double], scale: [Double], shift: [Double])) -> ConvEpilogue {
                ConvEpilogue(
                    affine: (bn.centre.map { Float($0) }, bn.scale.map { Float($0) }, bn.shift.map { Float($0) }),
                    activation: .clip(min: 0, max: 0.5))
            }
            guard cin % input.channelBlock == 0, cout % output.channelBlock == 0 else { continue }
            var got = try run(Float.self, [relayout(x, n: n, c: cin, h: h, w: w, to: input)], outputCount: o.count) {
                p, out in
                let conv = try OneDNNConvolution(
                    pg, input: p[0], inputLayout: input, weight: pwW.map { Float($0) }, bias: pwB.map { Float($0) },
                    output: out, outputLayout: output, epilogue: converted(pwBN),
                    depthwise: FusedDepthwise(
                        dg, weight: dwW.map { Float($0) }, bias: dwB.map { Float($0) }, epilogue: converted(dwBN)),
                    threads: 1 + i % 2)
                #expect(conv.outputShape == o)
                try conv(threads: 1 + i % 2)
            }
            got = relayout(got, n: o.batch, c: o.channels, h: o.height, w: o.width, to: output, inverse: true)
            expectClose(
                got, ref, tolerance: 1e-5, "1×1 \(pw.testDescription) + depthwise s\(stride) \(input)→\(output)")
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
