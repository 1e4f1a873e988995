// 2-D convolution on NCHW data: im2col + GEMM per group and image, GEMM directly for
// pointwise (1x1, stride 1, unpadded) convolutions, and a direct loop for depthwise ones
// (one input channel per group), where a GEMM would have a single-row operand.

/// The shape of a convolution: input, output channels, window, stride, dilation, four-sided
/// padding and groups. Constructing one validates it, so a kernel given a `ConvGeometry` never
/// reads or writes out of bounds (given buffers of the documented sizes).
///
/// Output size per axis: `floor((in + padBegin + padEnd - dilation*(k-1) - 1)/stride) + 1`.
/// Weight layout: `[outChannels, inChannels/groups, kernel.height, kernel.width]`.
public struct ConvGeometry: Hashable, Sendable {
    public let input: Shape4D
    public let outChannels: Int
    public let kernel: Size2D
    public let stride: Size2D
    public let dilation: Size2D
    public let padding: Padding2D
    public let groups: Int
    /// The output shape `[batch, outChannels, outHeight, outWidth]`.
    public let output: Shape4D

    public init(input: Shape4D, outChannels: Int, kernel: Size2D, stride: Size2D = .one,
                dilation: Size2D = .one, padding: Padding2D = .zero, groups: Int = 1) throws(KernelError) {
        try requirePositive("batch", input.batch)
        try requirePositive("input channels", input.channels)
        try requirePositive("input height", input.height)
        try requirePositive("input width", input.width)
        try requirePositive("output channels", outChannels)
        try requirePositive("kernel height", kernel.height)
        try requirePositive("kernel width", kernel.width)
        try requirePositive("stride height", stride.height)
        try requirePositive("stride width", stride.width)
        try requirePositive("dilation height", dilation.height)
        try requirePositive("dilation width", dilation.width)
        try requirePositive("groups", groups)
        guard padding.isNonNegative else { throw .negativePadding(padding) }
        guard input.channels % groups == 0 else {
            throw .groupsDoNotDivide(channels: input.channels, groups: groups)
        }
        guard outChannels % groups == 0 else {
            throw .groupsDoNotDivide(channels: outChannels, groups: groups)
        }
        let oh = windowOutputLength(input: input.height, kernel: kernel.height, stride: stride.height,
                                    dilation: dilation.height, padBegin: padding.top, padEnd: padding.bottom)
        let ow = windowOutputLength(input: input.width, kernel: kernel.width, stride: stride.width,
                                    dilation: dilation.width, padBegin: padding.left, padEnd: padding.right)
        guard oh > 0, ow > 0 else { throw .emptyOutput("convolution \(kernel) on \(input) padded \(padding)") }
        self.input = input
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.groups = groups
        self.output = Shape4D(batch: input.batch, channels: outChannels, height: oh, width: ow)
    }

    public var inChannelsPerGroup: Int { input.channels / groups }
    public var outChannelsPerGroup: Int { outChannels / groups }
    /// Elements of the weight tensor.
    public var weightCount: Int { outChannels * inChannelsPerGroup * kernel.height * kernel.width }
    /// 1x1, stride 1, no padding: the input planes already are the GEMM's right operand.
    public var isPointwise: Bool {
        kernel == .one && stride == .one && padding == .zero
    }
    /// One input channel per group (depthwise, possibly with a channel multiplier).
    public var isDepthwise: Bool { inChannelsPerGroup == 1 && groups > 1 }
    /// Elements of `T` of scratch `conv2d` needs (0 when it needs none).
    public var workspaceCount: Int {
        if isPointwise || isDepthwise { return 0 }
        return inChannelsPerGroup * kernel.height * kernel.width * output.spatial
    }
    /// Floating-point operations (multiply and add counted separately), for throughput reports.
    public var flops: Int {
        2 * output.count * inChannelsPerGroup * kernel.height * kernel.width
    }
}

/// Convolution `output = conv(input, weight) + bias`.
///
/// - Parameters:
///   - input: `geometry.input.count` elements, NCHW.
///   - weight: `geometry.weightCount` elements, `[outChannels, inChannels/groups, kh, kw]`.
///   - bias: `outChannels` elements, or nil for none.
///   - output: `geometry.output.count` elements, NCHW; must not overlap `input`.
///   - workspace: scratch reused across calls; when nil, a temporary one is allocated per call.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func conv2d<T: KernelScalar>(
    _ geometry: ConvGeometry, input: UnsafePointer<T>, weight: UnsafePointer<T>,
    bias: UnsafePointer<T>?, output: UnsafeMutablePointer<T>, workspace: Workspace? = nil
) {
    let g = geometry
    if g.isDepthwise {
        depthwiseConv2d(g, input: input, weight: weight, bias: bias, output: output)
        return
    }
    let ws = workspace ?? Workspace()
    let col: UnsafeMutablePointer<T>? = g.isPointwise ? nil : ws.buffer(g.workspaceCount, of: T.self)
    let cinG = g.inChannelsPerGroup, coutG = g.outChannelsPerGroup
    let inPlane = g.input.spatial, outPlane = g.output.spatial
    let k = cinG * g.kernel.height * g.kernel.width
    for n in 0..<g.input.batch {
        let outImage = output + n * g.outChannels * outPlane
        if let bias { fillChannels(outImage, channels: g.outChannels, plane: outPlane, values: bias) }
        for group in 0..<g.groups {
            let inGroup = input + (n * g.input.channels + group * cinG) * inPlane
            let right: UnsafePointer<T>
            if let col {
                im2col(g, input: inGroup, col: col)
                right = UnsafePointer(col)
            } else {
                right = inGroup
            }
            T.gemm(transposeA: false, transposeB: false, m: coutG, n: outPlane, k: k,
                   alpha: 1, a: weight + group * coutG * k, lda: k,
                   b: right, ldb: outPlane,
                   beta: bias == nil ? 0 : 1, c: outImage + group * coutG * outPlane, ldc: outPlane)
        }
    }
}

/// Writes `values[c]` over every element of channel plane `c`.
@inline(__always)
func fillChannels<T>(_ p: UnsafeMutablePointer<T>, channels: Int, plane: Int, values: UnsafePointer<T>) {
    for c in 0..<channels { (p + c * plane).update(repeating: values[c], count: plane) }
}

/// The range of output positions `o` in `0..<outLength` for which `o*stride + offset` lies in
/// `0..<inLength` (offset = kernelTap*dilation - padBegin).
@inline(__always)
func validOutputRange(outLength: Int, inLength: Int, stride: Int, offset: Int) -> Range<Int> {
    // o*stride + offset >= 0  <=>  o >= ceil(-offset/stride)
    let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
    // o*stride + offset <= inLength-1  <=>  o <= floor((inLength-1-offset)/stride)
    let top = inLength - 1 - offset
    let hi = top < 0 ? 0 : top / stride + 1
    let l = min(lo, outLength), h = min(max(hi, l), outLength)
    return l..<h
}

/// Unfolds one group of one image into `col`, shaped `[cinG*kh*kw, outH*outW]`, zeros where
/// the window covers padding.
@inline(__always)
func im2col<T: KernelScalar>(_ g: ConvGeometry, input: UnsafePointer<T>, col: UnsafeMutablePointer<T>) {
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    let rows = g.inChannelsPerGroup * kh * kw
    let outPlane = oh * ow
    parallelFor(rows, costPerItem: outPlane) { range in
        for row in range {
            let c = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw
            let plane = input + c * ih * iw
            let dst = col + row * outPlane
            let hRange = validOutputRange(outLength: oh, inLength: ih, stride: sh, offset: ki * dh - padT)
            let wRange = validOutputRange(outLength: ow, inLength: iw, stride: sw, offset: kj * dw - padL)
            let xOffset = kj * dw - padL
            if hRange.lowerBound > 0 { dst.update(repeating: 0, count: hRange.lowerBound * ow) }
            if hRange.upperBound < oh {
                (dst + hRange.upperBound * ow).update(repeating: 0, count: (oh - hRange.upperBound) * ow)
            }
            for y in hRange {
                let src = plane + (y * sh + ki * dh - padT) * iw
                let d = dst + y * ow
                if wRange.lowerBound > 0 { d.update(repeating: 0, count: wRange.lowerBound) }
                if wRange.upperBound < ow { (d + wRange.upperBound).update(repeating: 0, count: ow - wRange.upperBound) }
                if sw == 1 {
                    (d + wRange.lowerBound).update(from: src + wRange.lowerBound + xOffset, count: wRange.count)
                } else {
                    for x in wRange { d[x] = src[x * sw + xOffset] }
                }
            }
        }
    }
}

/// Direct depthwise convolution: output channel `oc` reads input channel `oc / multiplier`.
func depthwiseConv2d<T: KernelScalar>(
    _ g: ConvGeometry, input: UnsafePointer<T>, weight: UnsafePointer<T>,
    bias: UnsafePointer<T>?, output: UnsafeMutablePointer<T>
) {
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    let multiplier = g.outChannelsPerGroup
    let cin = g.input.channels, cout = g.outChannels
    let planes = g.input.batch * cout
    parallelFor(planes, costPerItem: oh * ow * kh * kw) { range in
        for p in range {
            let n = p / cout, oc = p % cout
            let src = input + (n * cin + oc / multiplier) * ih * iw
            let dst = output + p * oh * ow
            dst.update(repeating: bias?[oc] ?? 0, count: oh * ow)
            let w = weight + oc * kh * kw
            for ki in 0..<kh {
                let hRange = validOutputRange(outLength: oh, inLength: ih, stride: sh, offset: ki * dh - padT)
                for kj in 0..<kw {
                    let wv = w[ki * kw + kj]
                    let xOffset = kj * dw - padL
                    let wRange = validOutputRange(outLength: ow, inLength: iw, stride: sw, offset: xOffset)
                    if wRange.isEmpty { continue }
                    for y in hRange {
                        let s = src + (y * sh + ki * dh - padT) * iw + xOffset
                        let d = dst + y * ow
                        if sw == 1 {
                            for x in wRange { d[x] += wv * s[x] }
                        } else {
                            for x in wRange { d[x] += wv * s[x * sw] }
                        }
                    }
                }
            }
        }
    }
}
