// Spatial pooling on NCHW data: max and average over windows (stride, dilation, asymmetric
// padding, ceil mode), and global average / max over each whole channel plane.

/// The shape of a pooling window sliding over an NCHW input.
///
/// Output size per axis: `floor_or_ceil((in + padBegin + padEnd - dilation*(k-1) - 1)/stride) + 1`;
/// with `ceilMode`, a last window that would start in the end padding is dropped (the
/// PyTorch/ONNX rule: every window starts inside the input or the begin padding).
public struct PoolGeometry: Hashable, Sendable {
    public let input: Shape4D
    public let kernel: Size2D
    public let stride: Size2D
    public let dilation: Size2D
    public let padding: Padding2D
    public let ceilMode: Bool
    public let output: Shape4D

    public init(input: Shape4D, kernel: Size2D, stride: Size2D? = nil, dilation: Size2D = .one,
                padding: Padding2D = .zero, ceilMode: Bool = false) throws(KernelError) {
        let stride = stride ?? kernel
        try requirePositive("batch", input.batch)
        try requirePositive("channels", input.channels)
        try requirePositive("input height", input.height)
        try requirePositive("input width", input.width)
        try requirePositive("kernel height", kernel.height)
        try requirePositive("kernel width", kernel.width)
        try requirePositive("stride height", stride.height)
        try requirePositive("stride width", stride.width)
        try requirePositive("dilation height", dilation.height)
        try requirePositive("dilation width", dilation.width)
        guard padding.isNonNegative else { throw .negativePadding(padding) }
        let oh = windowOutputLength(input: input.height, kernel: kernel.height, stride: stride.height,
                                    dilation: dilation.height, padBegin: padding.top,
                                    padEnd: padding.bottom, ceilMode: ceilMode)
        let ow = windowOutputLength(input: input.width, kernel: kernel.width, stride: stride.width,
                                    dilation: dilation.width, padBegin: padding.left,
                                    padEnd: padding.right, ceilMode: ceilMode)
        guard oh > 0, ow > 0 else { throw .emptyOutput("pooling \(kernel) on \(input) padded \(padding)") }
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.ceilMode = ceilMode
        self.output = Shape4D(batch: input.batch, channels: input.channels, height: oh, width: ow)
    }
}

/// Max pooling. Padding never wins (it acts as -infinity); a window lying wholly in padding
/// yields -infinity.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func maxPool2d<T: KernelScalar>(_ geometry: PoolGeometry, input: UnsafePointer<T>,
                                       output: UnsafeMutablePointer<T>) {
    let g = geometry
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    parallelFor(g.input.batch * g.input.channels, costPerItem: oh * ow * kh * kw) { range in
        for p in range {
            let src = input + p * ih * iw
            let dst = output + p * oh * ow
            for y in 0..<oh {
                let y0 = y * sh - padT
                for x in 0..<ow {
                    let x0 = x * sw - padL
                    var m = -T.infinity
                    for ki in 0..<kh {
                        let yy = y0 + ki * dh
                        if yy < 0 || yy >= ih { continue }
                        let row = src + yy * iw
                        for kj in 0..<kw {
                            let xx = x0 + kj * dw
                            if xx < 0 || xx >= iw { continue }
                            let v = row[xx]
                            // NaN propagates, as in PyTorch and ONNX Runtime.
                            if v > m || v.isNaN { m = v }
                        }
                    }
                    dst[y * ow + x] = m
                }
            }
        }
    }
}

/// Average pooling. With `countIncludePadding`, the divisor counts window taps that fall in the
/// input or its padding (not taps beyond the end padding, which ceil mode can create), as
/// PyTorch does; without it, only taps inside the input. A window with no tap to count yields 0.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func averagePool2d<T: KernelScalar>(_ geometry: PoolGeometry, input: UnsafePointer<T>,
                                           output: UnsafeMutablePointer<T>, countIncludePadding: Bool) {
    let g = geometry
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    let padB = g.padding.bottom, padR = g.padding.right
    parallelFor(g.input.batch * g.input.channels, costPerItem: oh * ow * kh * kw) { range in
        for p in range {
            let src = input + p * ih * iw
            let dst = output + p * oh * ow
            for y in 0..<oh {
                let y0 = y * sh - padT
                var rowsInside = 0, rowsPadded = 0
                for ki in 0..<kh {
                    let yy = y0 + ki * dh
                    if yy >= 0 && yy < ih { rowsInside += 1 }
                    if yy >= -padT && yy < ih + padB { rowsPadded += 1 }
                }
                for x in 0..<ow {
                    let x0 = x * sw - padL
                    var colsInside = 0, colsPadded = 0
                    for kj in 0..<kw {
                        let xx = x0 + kj * dw
                        if xx >= 0 && xx < iw { colsInside += 1 }
                        if xx >= -padL && xx < iw + padR { colsPadded += 1 }
                    }
                    var sum: T = 0
                    for ki in 0..<kh {
                        let yy = y0 + ki * dh
                        if yy < 0 || yy >= ih { continue }
                        let row = src + yy * iw
                        for kj in 0..<kw {
                            let xx = x0 + kj * dw
                            if xx < 0 || xx >= iw { continue }
                            sum += row[xx]
                        }
                    }
                    let divisor = countIncludePadding ? rowsPadded * colsPadded : rowsInside * colsInside
                    dst[y * ow + x] = divisor == 0 ? 0 : sum / T(divisor)
                }
            }
        }
    }
}

/// Mean over each channel plane: `[N, C, H, W] -> [N, C, 1, 1]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func globalAveragePool<T: KernelScalar>(_ shape: Shape4D, input: UnsafePointer<T>,
                                               output: UnsafeMutablePointer<T>) {
    let plane = shape.spatial
    parallelFor(shape.batch * shape.channels, costPerItem: plane) { range in
        for p in range {
            let src = input + p * plane
            var sum: T = 0
            for i in 0..<plane { sum += src[i] }
            output[p] = sum / T(plane)
        }
    }
}

/// Maximum over each channel plane: `[N, C, H, W] -> [N, C, 1, 1]`. NaN propagates.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func globalMaxPool<T: KernelScalar>(_ shape: Shape4D, input: UnsafePointer<T>,
                                           output: UnsafeMutablePointer<T>) {
    let plane = shape.spatial
    parallelFor(shape.batch * shape.channels, costPerItem: plane) { range in
        for p in range {
            let src = input + p * plane
            var m = -T.infinity
            for i in 0..<plane where src[i] > m || src[i].isNaN { m = src[i] }
            output[p] = m
        }
    }
}
