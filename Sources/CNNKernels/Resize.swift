// Spatial resizing of NCHW data (ONNX Resize / PyTorch interpolate): nearest neighbour and
// bilinear, with ONNX's coordinate transformations and nearest rounding modes.

/// How an output coordinate maps back to an input coordinate (ONNX
/// `coordinate_transformation_mode`). `scale` is output/input along the axis.
public enum CoordinateTransform: String, Hashable, Sendable, CaseIterable {
    /// `(x + 0.5)/scale − 0.5`
    case halfPixel = "half_pixel"
    /// `(x + 0.5)/scale − 0.5` if the output length > 1, else 0
    case pytorchHalfPixel = "pytorch_half_pixel"
    /// `x/scale`
    case asymmetric
    /// `x·(in − 1)/(out − 1)`, or 0 when out = 1
    case alignCorners = "align_corners"

    /// The input coordinate for output coordinate `x`.
    @inline(__always)
    public func source(_ x: Int, scale: Double, inLength: Int, outLength: Int) -> Double {
        let x = Double(x)
        switch self {
        case .halfPixel: return (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outLength > 1 ? (x + 0.5) / scale - 0.5 : 0
        case .asymmetric: return x / scale
        case .alignCorners:
            return outLength == 1 ? 0 : x * Double(inLength - 1) / Double(outLength - 1)
        }
    }
}

/// How nearest-neighbour resizing turns a fractional input coordinate into an index (ONNX
/// `nearest_mode`).
public enum NearestRounding: String, Hashable, Sendable, CaseIterable {
    /// Ties (x.5) go down (ONNX's default).
    case roundPreferFloor = "round_prefer_floor"
    /// Ties (x.5) go up.
    case roundPreferCeil = "round_prefer_ceil"
    /// Always down.
    case floor
    /// Always up.
    case ceil

    /// The input index for the fractional coordinate `x` (before clamping to the input).
    @inline(__always)
    public func index(_ x: Double) -> Int {
        switch self {
        case .roundPreferFloor: return Int((x - 0.5).rounded(.up))
        case .roundPreferCeil: return Int((x + 0.5).rounded(.down))
        case .floor: return Int(x.rounded(.down))
        case .ceil: return Int(x.rounded(.up))
        }
    }
}

/// Input and output sizes of a resize, and the per-axis scales the coordinate transforms use.
public struct ResizeGeometry: Hashable, Sendable {
    /// The input shape.
    public let input: Shape4D
    /// The output shape (batch and channels unchanged).
    public let output: Shape4D
    /// Output/input scale of the height axis as the coordinate transform uses it: the given scale,
    /// which can differ from out/in after flooring.
    public let scaleHeight: Double
    /// The same for the width axis.
    public let scaleWidth: Double

    /// From scale factors: output length `floor(in·scale)` per axis (ONNX `scales`); the
    /// coordinate transforms use the given scales, not out/in.
    public init(input: Shape4D, scaleHeight: Double, scaleWidth: Double) throws(KernelError) {
        guard scaleHeight > 0, scaleHeight.isFinite, scaleWidth > 0, scaleWidth.isFinite else {
            throw .emptyOutput("resize scales \(scaleHeight)x\(scaleWidth)")
        }
        // Converted only below 2^53, where a Double holds every integer (Int(x) traps past Int.max).
        let h = (Double(input.height) * scaleHeight).rounded(.down),
            w = (Double(input.width) * scaleWidth).rounded(.down)
        guard h < 9_007_199_254_740_992, w < 9_007_199_254_740_992 else {
            throw .tooLarge("resize \(input) by \(scaleHeight)x\(scaleWidth)")
        }
        let oh = Int(h), ow = Int(w)
        try self.init(input: input, outHeight: oh, outWidth: ow, scaleHeight: scaleHeight, scaleWidth: scaleWidth)
    }

    /// From output sizes (ONNX `sizes`): the scales are out/in.
    public init(input: Shape4D, outHeight: Int, outWidth: Int) throws(KernelError) {
        try self.init(
            input: input, outHeight: outHeight, outWidth: outWidth,
            scaleHeight: Double(outHeight) / Double(max(1, input.height)),
            scaleWidth: Double(outWidth) / Double(max(1, input.width)))
    }

    private init(
        input: Shape4D, outHeight: Int, outWidth: Int,
        scaleHeight: Double, scaleWidth: Double
    ) throws(KernelError) {
        try requirePositive("batch", input.batch)
        try requirePositive("channels", input.channels)
        try requirePositive("input height", input.height)
        try requirePositive("input width", input.width)
        try requirePositive("output height", outHeight)
        try requirePositive("output width", outWidth)
        guard checkedProduct(input.batch, input.channels, input.height, input.width) != nil,
            checkedProduct(input.batch, input.channels, outHeight, outWidth) != nil,
            outHeight.addingReportingOverflow(outWidth).overflow == false
        else { throw .tooLarge("resize \(input) to \(outHeight)x\(outWidth)") }
        self.input = input
        self.output = Shape4D(batch: input.batch, channels: input.channels, height: outHeight, width: outWidth)
        self.scaleHeight = scaleHeight
        self.scaleWidth = scaleWidth
    }
}

/// Nearest-neighbour resize. Source indices are clamped to the input.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func resizeNearest<T: KernelScalar>(
    _ geometry: ResizeGeometry, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    transform: CoordinateTransform, rounding: NearestRounding
) {
    let g = geometry
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    withUnsafeTemporaryAllocation(of: Int.self, capacity: oh + ow) { table in
        let rows = table.baseAddress!, cols = rows + oh
        for y in 0..<oh {
            let s = transform.source(y, scale: g.scaleHeight, inLength: ih, outLength: oh)
            rows[y] = min(max(rounding.index(s), 0), ih - 1) * iw
        }
        for x in 0..<ow {
            let s = transform.source(x, scale: g.scaleWidth, inLength: iw, outLength: ow)
            cols[x] = min(max(rounding.index(s), 0), iw - 1)
        }
        let rowsC = UnsafePointer(rows), colsC = UnsafePointer(cols)
        forEachRow(g.input.batch * g.input.channels, cost: oh * ow) { p in
            let src = input + p * ih * iw, dst = output + p * oh * ow
            for y in 0..<oh {
                let row = src + rowsC[y], d = dst + y * ow
                for x in 0..<ow { d[x] = row[colsC[x]] }
            }
        }
    }
}

/// Bilinear resize (ONNX `linear` on H and W, PyTorch `bilinear`). The source coordinate is
/// clamped to `[0, in − 1]`, which replicates the edge.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func resizeBilinear<T: KernelScalar>(
    _ geometry: ResizeGeometry, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    transform: CoordinateTransform
) {
    let g = geometry
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    // Per output row/column: the two source indices and the weight of the second.
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * (oh + ow)) { idx in
        withUnsafeTemporaryAllocation(of: T.self, capacity: oh + ow) { wts in
            let y0 = idx.baseAddress!, y1 = y0 + oh, x0 = y1 + oh, x1 = x0 + ow
            let wy = wts.baseAddress!, wx = wy + oh
            func fill(
                _ n: Int, _ inLength: Int, _ scale: Double,
                _ lo: UnsafeMutablePointer<Int>, _ hi: UnsafeMutablePointer<Int>,
                _ w: UnsafeMutablePointer<T>
            ) {
                for o in 0..<n {
                    let s = min(
                        max(transform.source(o, scale: scale, inLength: inLength, outLength: n), 0),
                        Double(inLength - 1))
                    let f = Int(s.rounded(.down))
                    lo[o] = f
                    hi[o] = min(f + 1, inLength - 1)
                    w[o] = T(s - Double(f))
                }
            }
            fill(oh, ih, g.scaleHeight, y0, y1, wy)
            fill(ow, iw, g.scaleWidth, x0, x1, wx)
            let ry0 = UnsafePointer(y0), ry1 = UnsafePointer(y1)
            let rx0 = UnsafePointer(x0), rx1 = UnsafePointer(x1)
            let rwy = UnsafePointer(wy), rwx = UnsafePointer(wx)
            forEachRow(g.input.batch * g.input.channels, cost: 8 * oh * ow) { p in
                let src = input + p * ih * iw, dst = output + p * oh * ow
                for y in 0..<oh {
                    let top = src + ry0[y] * iw, bottom = src + ry1[y] * iw
                    let b = rwy[y], a = 1 - b
                    let d = dst + y * ow
                    for x in 0..<ow {
                        let l = rx0[x], r = rx1[x], wr = rwx[x], wl = 1 - wr
                        d[x] = a * (wl * top[l] + wr * top[r]) + b * (wl * bottom[l] + wr * bottom[r])
                    }
                }
            }
        }
    }
}
