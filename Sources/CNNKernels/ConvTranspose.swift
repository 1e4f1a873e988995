// Transposed 2-D convolution (a.k.a. deconvolution) on NCHW data: per image and group, one GEMM
// W^T·X produces the columns, and col2im scatters them into the output planes.

/// The shape of a transposed convolution. Weight layout: `[inChannels, outChannels/groups, kh, kw]`
/// (input channels first, as in ONNX ConvTranspose and PyTorch).
///
/// Output size per axis:
/// `(in - 1)*stride - padBegin - padEnd + dilation*(k - 1) + outputPadding + 1`.
public struct ConvTransposeGeometry: Hashable, Sendable {
    /// Batch, input channels and spatial size of the input.
    public let input: Shape4D
    /// Output channels; a multiple of `groups`.
    public let outChannels: Int
    /// The window size (the weight's last two dimensions).
    public let kernel: Size2D
    /// The upsampling factor per axis: input pixels land `stride` apart in the output.
    public let stride: Size2D
    /// Spacing between the window's taps, per axis.
    public let dilation: Size2D
    /// Rows and columns cropped from each side of the full output.
    public let padding: Padding2D
    /// Extra rows/columns added at the bottom/right of the output (must be below stride or
    /// dilation), to pick one of the input sizes a strided convolution maps to the same output.
    public let outputPadding: Size2D
    /// Channel groups, as in `ConvGeometry`.
    public let groups: Int
    /// The output shape `[batch, outChannels, outHeight, outWidth]`.
    public let output: Shape4D

    /// Validates every size, as `ConvGeometry.init` does, and computes the output shape; throws
    /// naming the bad value.
    public init(
        input: Shape4D, outChannels: Int, kernel: Size2D, stride: Size2D = .one,
        dilation: Size2D = .one, padding: Padding2D = .zero,
        outputPadding: Size2D = Size2D(0), groups: Int = 1
    ) throws(KernelError) {
        try requireValidWindow(input: input, kernel: kernel, stride: stride, dilation: dilation, padding: padding)
        try requireValidGroups(inChannels: input.channels, outChannels: outChannels, groups: groups)
        guard outputPadding.height >= 0, outputPadding.width >= 0,
            outputPadding.height < max(stride.height, dilation.height),
            outputPadding.width < max(stride.width, dilation.width)
        else { throw .emptyOutput("output padding \(outputPadding) must be below stride or dilation") }
        func length(_ n: Int, _ s: Int, _ p0: Int, _ p1: Int, _ d: Int, _ k: Int, _ extra: Int) -> Int? {
            // (n − 1)·s − p0 − p1 + d·(k − 1) + extra + 1, every step checked.
            let (stretched, o1) = (n - 1).multipliedReportingOverflow(by: s)
            let (reach, o2) = d.multipliedReportingOverflow(by: k - 1)
            let (a, o3) = stretched.subtractingReportingOverflow(p0)
            let (b, o4) = a.subtractingReportingOverflow(p1)
            let (c, o5) = b.addingReportingOverflow(reach)
            let (e, o6) = c.addingReportingOverflow(extra + 1)
            return o1 || o2 || o3 || o4 || o5 || o6 ? nil : e
        }
        guard
            let oh = length(
                input.height, stride.height, padding.top, padding.bottom, dilation.height, kernel.height,
                outputPadding.height),
            let ow = length(
                input.width, stride.width, padding.left, padding.right, dilation.width, kernel.width,
                outputPadding.width)
        else { throw .tooLarge("transposed convolution \(kernel) stride \(stride) dilation \(dilation) on \(input)") }
        guard oh > 0, ow > 0 else { throw .emptyOutput("transposed convolution \(kernel) on \(input)") }
        // Every size the kernels and `flops` compute from here on is a sub-product of these:
        // input and output counts, weight count, the col2im scratch (× 2 for flops).
        guard checkedProduct(input.batch, outChannels, oh, ow) != nil,
            checkedProduct(
                2, input.batch, input.channels, input.height, input.width, outChannels / groups, kernel.height,
                kernel.width) != nil
        else { throw .tooLarge("transposed convolution \(kernel) from \(input) to \(outChannels)×\(oh)×\(ow)") }
        self.input = input
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.outputPadding = outputPadding
        self.groups = groups
        self.output = Shape4D(batch: input.batch, channels: outChannels, height: oh, width: ow)
    }

    var inChannelsPerGroup: Int { input.channels / groups }
    var outChannelsPerGroup: Int { outChannels / groups }
    /// Elements of the weight tensor `[inChannels, outChannels/groups, kh, kw]`, which the caller
    /// checks a file's tensor against before handing its pointer to the kernel.
    public var weightCount: Int { input.channels * outChannelsPerGroup * kernel.height * kernel.width }
    /// 1x1, stride 1, no padding: the GEMM writes the output directly.
    var isPointwise: Bool {
        kernel == .one && stride == .one && padding == .zero && outputPadding == Size2D(0)
    }
    /// Elements of `T` of scratch `convTranspose2d` needs.
    public var workspaceCount: Int {
        isPointwise ? 0 : outChannelsPerGroup * kernel.height * kernel.width * input.spatial
    }
    /// Floating-point operations of one call (2 per multiply-add), for throughput reports.
    public var flops: Int {
        2 * input.count * outChannelsPerGroup * kernel.height * kernel.width
    }
}

/// Transposed convolution `output = convT(input, weight) + bias`.
///
/// - Parameters:
///   - input: `geometry.input.count` elements, NCHW.
///   - weight: `geometry.weightCount` elements, `[inChannels, outChannels/groups, kh, kw]`.
///   - bias: `outChannels` elements, or nil.
///   - output: `geometry.output.count` elements; must not overlap `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func convTranspose2d<T: KernelScalar>(
    _ geometry: ConvTransposeGeometry, input: UnsafePointer<T>, weight: UnsafePointer<T>,
    bias: UnsafePointer<T>?, output: UnsafeMutablePointer<T>, workspace: Workspace? = nil
) {
    let g = geometry
    let cinG = g.inChannelsPerGroup, coutG = g.outChannelsPerGroup
    let kk = g.kernel.height * g.kernel.width
    let inPlane = g.input.spatial, outPlane = g.output.spatial
    let ws = workspace ?? Workspace()
    let col: UnsafeMutablePointer<T>? = g.isPointwise ? nil : ws.buffer(g.workspaceCount, of: T.self)
    for n in 0..<g.input.batch {
        let outImage = output + n * g.outChannels * outPlane
        if let bias {
            fillChannels(outImage, channels: g.outChannels, plane: outPlane, values: bias)
        } else {
            outImage.update(repeating: 0, count: g.outChannels * outPlane)
        }
        for group in 0..<g.groups {
            let x = input + (n * g.input.channels + group * cinG) * inPlane
            let w = weight + group * cinG * coutG * kk
            let outGroup = outImage + group * coutG * outPlane
            if let col {
                parallelGemm(
                    transposeA: true, transposeB: false, m: coutG * kk, n: inPlane, k: cinG,
                    a: w, lda: coutG * kk, b: x, ldb: inPlane,
                    beta: 0, c: col, ldc: inPlane)
                col2im(g, col: UnsafePointer(col), output: outGroup)
            } else {
                parallelGemm(
                    transposeA: true, transposeB: false, m: coutG, n: inPlane, k: cinG,
                    a: w, lda: coutG, b: x, ldb: inPlane,
                    beta: 1, c: outGroup, ldc: outPlane)
            }
        }
    }
}

/// Adds the columns `[coutG*kh*kw, inH*inW]` into one group's output planes (already holding
/// the bias or zeros). Each output channel is written by one thread only.
func col2im<T: KernelScalar>(_ g: ConvTransposeGeometry, col: UnsafePointer<T>, output: UnsafeMutablePointer<T>) {
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    parallelFor(g.outChannelsPerGroup, costPerItem: kh * kw * ih * iw) { range in
        for oc in range {
            let dst = output + oc * oh * ow
            for ki in 0..<kh {
                // Input rows y whose output row y*sh + ki*dh - padT lies in 0..<oh.
                let yRange = validOutputRange(outLength: ih, inLength: oh, stride: sh, offset: ki * dh - padT)
                for kj in 0..<kw {
                    let xOffset = kj * dw - padL
                    let xRange = validOutputRange(outLength: iw, inLength: ow, stride: sw, offset: xOffset)
                    if xRange.isEmpty { continue }
                    let src = col + ((oc * kh + ki) * kw + kj) * ih * iw
                    for y in yRange {
                        let s = src + y * iw
                        let d = dst + (y * sh + ki * dh - padT) * ow + xOffset
                        if sw == 1 {
                            for x in xRange { d[x] += s[x] }
                        } else {
                            for x in xRange { d[x * sw] += s[x] }
                        }
                    }
                }
            }
        }
    }
}
