// 2-D convolution on NCHW data: im2col + GEMM per group and image, GEMM directly for
// pointwise (1x1, stride 1, unpadded) convolutions, and a direct SIMD kernel for depthwise ones
// (one input channel per group, Depthwise.swift), where a GEMM would have a single-row operand.

/// The shape of a convolution: input, output channels, window, stride, dilation, four-sided
/// padding and groups. Constructing one validates it, so a kernel given a `ConvGeometry` never
/// reads or writes out of bounds (given buffers of the documented sizes).
///
/// Output size per axis: `floor((in + padBegin + padEnd - dilation*(k-1) - 1)/stride) + 1`.
/// Weight layout: `[outChannels, inChannels/groups, kernel.height, kernel.width]`.
public struct ConvGeometry: Hashable, Sendable {
    /// Batch, input channels and spatial size of the input.
    public let input: Shape4D
    /// Output channels (the weight's first dimension); a multiple of `groups`.
    public let outChannels: Int
    /// The window size (the weight's last two dimensions).
    public let kernel: Size2D
    /// Steps between windows, per axis.
    public let stride: Size2D
    /// Spacing between the window's taps, per axis (1: a dense window).
    public let dilation: Size2D
    /// Zero padding on each side of the input, in pixels.
    public let padding: Padding2D
    /// Channel groups: input and output channels split into `groups` independent convolutions
    /// (equal to the channels for a depthwise convolution).
    public let groups: Int
    /// The output shape `[batch, outChannels, outHeight, outWidth]`.
    public let output: Shape4D

    /// Validates every size (positive, groups dividing the channels, a non-empty output, no
    /// `Int` overflow in any size a kernel computes) and computes the output shape; throws naming
    /// the bad value, so a hostile file's numbers become an error before anything is allocated.
    public init(
        input: Shape4D, outChannels: Int, kernel: Size2D, stride: Size2D = .one,
        dilation: Size2D = .one, padding: Padding2D = .zero, groups: Int = 1
    ) throws(KernelError) {
        try requireValidWindow(input: input, kernel: kernel, stride: stride, dilation: dilation, padding: padding)
        try requireValidGroups(inChannels: input.channels, outChannels: outChannels, groups: groups)
        guard
            let oh = windowOutputLength(
                input: input.height, kernel: kernel.height, stride: stride.height,
                dilation: dilation.height, padBegin: padding.top, padEnd: padding.bottom),
            let ow = windowOutputLength(
                input: input.width, kernel: kernel.width, stride: stride.width,
                dilation: dilation.width, padBegin: padding.left, padEnd: padding.right)
        else {
            throw .tooLarge("convolution \(kernel) stride \(stride) dilation \(dilation) on \(input) padded \(padding)")
        }
        guard oh > 0, ow > 0 else { throw .emptyOutput("convolution \(kernel) on \(input) padded \(padding)") }
        // Every size the kernels and `flops` compute from here on is a sub-product of these:
        // input and output counts, weight count, and the im2col scratch (depth × plane × 2).
        guard checkedProduct(input.batch, input.channels, input.height, input.width) != nil,
            checkedProduct(2, input.batch, outChannels, oh, ow, input.channels / groups, kernel.height, kernel.width)
                != nil
        else { throw .tooLarge("convolution \(kernel) from \(input) to \(outChannels)×\(oh)×\(ow)") }
        self.input = input
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.groups = groups
        self.output = Shape4D(batch: input.batch, channels: outChannels, height: oh, width: ow)
    }

    var inChannelsPerGroup: Int { input.channels / groups }
    var outChannelsPerGroup: Int { outChannels / groups }
    /// Elements of the weight tensor.
    public var weightCount: Int { outChannels * inChannelsPerGroup * kernel.height * kernel.width }
    /// 1x1, stride 1, no padding: the input planes already are the GEMM's right operand.
    public var isPointwise: Bool {
        kernel == .one && stride == .one && padding == .zero
    }
    /// One input channel per group (depthwise, possibly with a channel multiplier).
    public var isDepthwise: Bool { inChannelsPerGroup == 1 && groups > 1 }
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
///     Size it up front with `geometry.workspaceCount(threads:)` if you want no growth later.
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
    let threads = KernelThreads.count
    let plan = ConvTiling(g, threads: threads)
    let ws = workspace ?? Workspace()
    let scratch = ws.buffer(max(1, plan.workspaceCount), of: T.self)
    if plan.batched {
        batchedConv2d(g, input: input, weight: weight, bias: bias, output: output, scratch: scratch, depth: plan.depth)
        return
    }
    let cinG = g.inChannelsPerGroup, coutG = g.outChannelsPerGroup
    let inPlane = g.input.spatial, outPlane = g.output.spatial
    let k = plan.depth
    let beta: T = bias == nil ? 0 : 1
    for n in 0..<g.input.batch {
        let outImage = output + n * g.outChannels * outPlane
        if let bias { fillChannels(outImage, channels: g.outChannels, plane: outPlane, values: bias) }
        for group in 0..<g.groups {
            let inGroup = input + (n * g.input.channels + group * cinG) * inPlane
            let w = weight + group * coutG * k
            let outGroup = outImage + group * coutG * outPlane
            if g.isPointwise {
                parallelGemm(
                    transposeA: false, transposeB: false, m: coutG, n: outPlane, k: k,
                    a: w, lda: k, b: inGroup, ldb: inPlane, beta: beta, c: outGroup, ldc: outPlane)
            } else if plan.tiled {
                // Each thread takes an equal range of output columns and walks it in tiles:
                // unfold a tile into its own L2-sized buffer, multiply it while it is hot.
                let parts = plan.threads
                parallelChunks(parts, costPerItem: coutG * k * outPlane / parts, maxThreads: parts) { chunk, range in
                    let col = scratch + chunk * k * plan.tile
                    for part in range {
                        var c0 = outPlane * part / parts
                        let end = outPlane * (part + 1) / parts
                        while c0 < end {
                            let c1 = min(end, c0 + plan.tile)
                            im2col(g, input: inGroup, col: col, columns: c0..<c1, rows: 0..<k)
                            T.gemm(
                                transposeA: false, transposeB: false, m: coutG, n: c1 - c0, k: k,
                                alpha: 1, a: w, lda: k, b: col, ldb: c1 - c0,
                                beta: beta, c: outGroup + c0, ldc: outPlane)
                            c0 = c1
                        }
                    }
                }
            } else {
                // Small output planes: unfold everything (rows split across threads), then split
                // the GEMM by output channels.
                parallelFor(k, costPerItem: outPlane) { rows in
                    im2col(g, input: inGroup, col: scratch, columns: 0..<outPlane, rows: rows)
                }
                parallelGemm(
                    transposeA: false, transposeB: false, m: coutG, n: outPlane, k: k,
                    a: w, lda: k, b: scratch, ldb: outPlane, beta: beta, c: outGroup, ldc: outPlane)
            }
        }
    }
}

/// How `conv2d` cuts the im2col matrix `[depth, outH*outW]`: either each thread takes an
/// equal range of columns and unfolds it tile by tile (`tiled`), or, for small output planes,
/// the whole matrix is unfolded once and the GEMM is split by output channels.
struct ConvTiling {
    /// Rows of the im2col matrix: inChannels/groups · kh · kw.
    let depth: Int
    /// Threads the tiled path uses (one column range and one tile buffer each).
    let threads: Int
    /// Whether the column-range/tile path is used.
    let tiled: Bool
    /// Columns per tile.
    let tile: Int
    /// Elements of scratch needed.
    let workspaceCount: Int
    /// Whether all images go through one GEMM (`batchedConv2d`).
    var batched = false

    /// One tile of the im2col matrix: 1 MiB (the L2 size) measured 5–8% faster end to end on
    /// ResNet-18/50 than 512 KiB here (Benchmarks/run.sh, load ≈ 1, 2026-11-25).
    static let tileBytes = 1024 * 1024
    /// Narrower GEMMs than this run OpenBLAS well below its peak.
    static let minimumColumns = 64

    init(_ g: ConvGeometry, threads: Int) {
        depth = g.inChannelsPerGroup * g.kernel.height * g.kernel.width
        let plane = g.output.spatial
        if let count = Self.batchedWorkspaceCount(g, depth: depth) {
            (self.threads, tiled, tile, workspaceCount, batched) = (1, false, plane, count, true)
            return
        }
        if g.isPointwise || g.isDepthwise {
            (self.threads, tiled, tile, workspaceCount) = (1, false, plane, 0)
            return
        }
        // Threads only where each gets a GEMM wide enough to run well.
        let parts = max(1, min(threads, plane / Self.minimumColumns))
        let perPart = (plane + parts - 1) / parts
        let widest = max(Self.minimumColumns, Self.tileBytes / 4 / depth)
        if perPart >= Self.minimumColumns && (parts > 1 || perPart > widest) {
            // Equal tiles within a part: ceil(perPart / ceil(perPart / widest)).
            let tilesPerPart = (perPart + widest - 1) / widest
            self.threads = parts
            tiled = true
            tile = (perPart + tilesPerPart - 1) / tilesPerPart
            workspaceCount = parts * depth * tile
        } else {
            (self.threads, tiled, tile, workspaceCount) = (1, false, plane, depth * plane)
        }
    }
}

extension ConvTiling {
    /// Output planes up to this many positions (ResNet's 14×14 and 7×7 stages) make GEMMs too
    /// narrow per image; at batch > 1 all images then share one GEMM.
    static let batchedMaximumPlane = 256
    /// The batched path's scratch (the unfolded input of every image and the product before it
    /// is scattered to NCHW) stays under this many bytes of Float; larger batches go image by image.
    static let batchedMaximumBytes = 64 << 20

    /// Scratch elements of the batched path, or nil when it does not apply.
    static func batchedWorkspaceCount(_ g: ConvGeometry, depth: Int) -> Int? {
        let plane = g.output.spatial, columns = g.input.batch * plane
        guard g.input.batch > 1, g.groups == 1, plane <= batchedMaximumPlane else { return nil }
        let count = (depth + g.outChannels) * columns  // sub-products ConvGeometry proved in range
        return count <= batchedMaximumBytes / 4 ? count : nil
    }
}

/// Convolution of a whole batch with small output planes as one GEMM: the unfolded images sit
/// side by side (`[depth, batch·plane]`; a pointwise conv's input planes copied, others by
/// `im2col`), one GEMM gives `[outChannels, batch·plane]`, which is scattered to NCHW with the
/// bias. Weights are packed once per batch instead of once per image, and the GEMM is wide.
func batchedConv2d<T: KernelScalar>(
    _ g: ConvGeometry, input: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
    output: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>, depth k: Int
) {
    let batch = g.input.batch, plane = g.output.spatial, columns = batch * plane
    let cin = g.input.channels, cout = g.outChannels, inPlane = g.input.spatial
    let col = scratch, product = scratch + k * columns
    if g.isPointwise {
        parallelFor(cin, costPerItem: columns) { rows in
            for c in rows {
                for n in 0..<batch {
                    (col + c * columns + n * plane).update(from: input + (n * cin + c) * inPlane, count: plane)
                }
            }
        }
    } else {
        parallelFor(k, costPerItem: columns) { rows in
            for n in 0..<batch {
                im2col(
                    g, input: input + n * cin * inPlane, col: col + n * plane, columns: 0..<plane, rows: rows,
                    rowStride: columns)
            }
        }
    }
    parallelGemm(
        transposeA: false, transposeB: false, m: cout, n: columns, k: k,
        a: weight, lda: k, b: col, ldb: columns, beta: 0, c: product, ldc: columns)
    parallelFor(batch * cout, costPerItem: plane) { range in
        for p in range {
            let n = p / cout, c = p % cout
            let src = product + c * columns + n * plane, dst = output + p * plane
            if let bias {
                let b = bias[c]
                for i in 0..<plane { dst[i] = b + src[i] }
            } else {
                dst.update(from: src, count: plane)
            }
        }
    }
}

extension ConvGeometry {
    /// Elements of `T` of scratch `conv2d` uses with `threads` threads (0 when none).
    public func workspaceCount(threads: Int = KernelThreads.count) -> Int {
        ConvTiling(self, threads: threads).workspaceCount
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

/// Unfolds `rows` of the im2col matrix of one group of one image, restricted to output
/// positions `columns` (flattened oy·outW + ox), into `col` with row stride `rowStride`
/// (default `columns.count`; row `r` at `col + r·rowStride`). Zeros where the window covers padding.
@inline(__always)
func im2col<T: KernelScalar>(
    _ g: ConvGeometry, input: UnsafePointer<T>, col: UnsafeMutablePointer<T>,
    columns: Range<Int>, rows: Range<Int>, rowStride: Int? = nil
) {
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    let width = rowStride ?? columns.count, c0 = columns.lowerBound, c1 = columns.upperBound
    for row in rows {
        let c = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw
        let plane = input + c * ih * iw
        let xOffset = kj * dw - padL
        let hRange = validOutputRange(outLength: oh, inLength: ih, stride: sh, offset: ki * dh - padT)
        let wRange = validOutputRange(outLength: ow, inLength: iw, stride: sw, offset: xOffset)
        // `dst[oy*ow + ox]` is this row's entry for output position (oy, ox).
        let dst = col + row * width - c0
        var pos = c0
        while pos < c1 {
            let y = pos / ow, x0 = pos % ow
            let x1 = min(ow, x0 + (c1 - pos))
            let d = dst + y * ow
            if !hRange.contains(y) {
                (d + x0).update(repeating: 0, count: x1 - x0)
            } else {
                let lo = min(max(wRange.lowerBound, x0), x1), hi = max(min(wRange.upperBound, x1), lo)
                if lo > x0 { (d + x0).update(repeating: 0, count: lo - x0) }
                if hi < x1 { (d + hi).update(repeating: 0, count: x1 - hi) }
                let src = plane + (y * sh + ki * dh - padT) * iw + xOffset
                if sw == 1 {
                    (d + lo).update(from: src + lo, count: hi - lo)
                } else {
                    // x < wRange.upperBound, so x·sw + xOffset < iw: inside the input plane, whose
                    // size ConvGeometry proved fits Int. Unchecked, the loop vectorizes.
                    for x in lo..<hi { d[x] = src[x &* sw] }
                }
            }
            pos += x1 - x0
        }
    }
}
