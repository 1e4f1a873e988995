// The batched small-plane convolution (all images in one GEMM, Conv.swift's `batchedConv2d`)
// against the naive Float64 convolution of ConvTests.swift: 3×3 and 1×1 layers on the 7×7 and
// 14×14 planes where it applies, strides, padding, dilation, no bias, odd batch sizes, 1–3
// threads; plus the geometries it must leave to the per-image path.

import Testing

@testable import CNNKernels

let batchedConvCases: [ConvCase] = [
    // ResNet layer4 3×3 body on a 7×7 plane, batch 3
    ConvCase(n: 3, cin: 16, h: 7, w: 7, cout: 24, k: Size2D(3), pad: Padding2D(1)),
    // pointwise 1×1 on 14×14, batch 5, no bias
    ConvCase(n: 5, cin: 12, h: 14, w: 14, cout: 20, bias: false),
    // 1×1 stride 2 downsample (goes through im2col), batch 2
    ConvCase(n: 2, cin: 10, h: 13, w: 14, cout: 6, s: Size2D(2)),
    // 3×3 stride 2, asymmetric padding, dilation, odd plane
    ConvCase(
        n: 4, cin: 5, h: 15, w: 11, cout: 7, k: Size2D(3), s: Size2D(2), d: Size2D(2, 1),
        pad: Padding2D(top: 2, left: 1, bottom: 1, right: 0)),
    // exactly 256 output positions (the limit) and 1 position
    ConvCase(n: 2, cin: 3, h: 16, w: 16, cout: 4, k: Size2D(3), pad: Padding2D(1)),
    ConvCase(n: 3, cin: 4, h: 1, w: 1, cout: 3),
]

@Suite struct ConvBatchedTests {
    @Test(arguments: batchedConvCases)
    func batchedMatchesReference(_ c: ConvCase) throws {
        let g = try ConvGeometry(
            input: c.input, outChannels: c.cout, kernel: c.k, stride: c.s,
            dilation: c.d, padding: c.pad, groups: c.groups)
        #expect(ConvTiling(g, threads: 2).batched, "\(c.testDescription) should take the batched path")
        for threads in [1, 2, 3] {
            try KernelThreads.withCount(threads) {
                try checkConv(Float.self, c, seed: 11)
                try checkConv(Double.self, c, seed: 12)
            }
        }
    }

    @Test func perImageWhereBatchingDoesNotApply() throws {
        let shape = { (n: Int, h: Int) in Shape4D(batch: n, channels: 8, height: h, width: h) }
        // batch 1, a plane over the limit, groups, depthwise
        let single = try ConvGeometry(input: shape(1, 7), outChannels: 8, kernel: Size2D(3), padding: Padding2D(1))
        let large = try ConvGeometry(input: shape(2, 17), outChannels: 8, kernel: Size2D(3), padding: Padding2D(1))
        let grouped = try ConvGeometry(input: shape(2, 7), outChannels: 8, kernel: Size2D(3), groups: 2)
        let depthwise = try ConvGeometry(input: shape(2, 7), outChannels: 8, kernel: Size2D(3), groups: 8)
        for g in [single, large, grouped, depthwise] { #expect(!ConvTiling(g, threads: 2).batched, "\(g.input)") }
        // A batch whose scratch would exceed the cap goes image by image, and is still right.
        let wide = ConvCase(n: 200, cin: 64, h: 14, w: 14, cout: 4, k: Size2D(3), pad: Padding2D(1))
        let gw = try ConvGeometry(input: wide.input, outChannels: 4, kernel: wide.k, padding: wide.pad)
        #expect(!ConvTiling(gw, threads: 2).batched)
    }
}
