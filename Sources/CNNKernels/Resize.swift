// Spatial resizing of NCHW data (ONNX Resize / PyTorch interpolate): nearest neighbour,
// bilinear and bicubic, antialiased downsampling, with ONNX's coordinate transformations and
// nearest rounding modes.

/// How an output coordinate maps back to an input coordinate (ONNX
/// `coordinate_transformation_mode`). `scale` is output/input along the axis; `L` below is the
/// resized length `in·scale` as a real number (see `resizedLength`).
public enum CoordinateTransform: String, Hashable, Sendable, CaseIterable {
    /// `(x + 0.5)/scale − 0.5`
    case halfPixel = "half_pixel"
    /// `(x + 0.5)/scale − 0.5` if the output length > 1, else 0
    case pytorchHalfPixel = "pytorch_half_pixel"
    /// `x/scale`
    case asymmetric
    /// `x·(in − 1)/(L − 1)`, or 0 when L = 1
    case alignCorners = "align_corners"
    /// half_pixel shifted so the centre of the input maps to the centre of the output:
    /// `in/2·(1 − out/L) + (x + 0.5)/scale − 0.5`
    case halfPixelSymmetric = "half_pixel_symmetric"
    /// Samples the region `[start, end]` (fractions of the input):
    /// `start·(in − 1) + x·(end − start)·(in − 1)/(L − 1)`, or the region's middle when L = 1
    case tfCropAndResize = "tf_crop_and_resize"

    /// The input coordinate for output coordinate `x`; `region` is tf_crop_and_resize's (start,
    /// end) and is ignored by the other transforms.
    @inline(__always)
    public func source(
        _ x: Int, scale: Double, inLength: Int, outLength: Int, region: (Double, Double) = (0, 1)
    ) -> Double {
        let x = Double(x)
        switch self {
        case .halfPixel: return (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outLength > 1 ? (x + 0.5) / scale - 0.5 : 0
        case .asymmetric: return x / scale
        case .alignCorners:
            let l = resizedLength(scale: scale, inLength: inLength, outLength: outLength)
            return l == 1 ? 0 : x * Double(inLength - 1) / (l - 1)
        case .halfPixelSymmetric:
            let l = resizedLength(scale: scale, inLength: inLength, outLength: outLength)
            let offset = Double(inLength) / 2 * (1 - Double(outLength) / l)
            return offset + (x + 0.5) / scale - 0.5
        case .tfCropAndResize:
            let l = resizedLength(scale: scale, inLength: inLength, outLength: outLength)
            let extent = (region.1 - region.0) * Double(inLength - 1)
            return region.0 * Double(inLength - 1) + (l == 1 ? extent / 2 : x * extent / (l - 1))
        }
    }
}

/// The resized length ONNX's formulas use: `in·scale` as a real number (a downsample of 4 by 0.6
/// is 2.4 long though it has 2 samples), or the integer output length when `in·scale` is that
/// length up to rounding (a scale derived from an output size).
@inline(__always)
public func resizedLength(scale: Double, inLength: Int, outLength: Int) -> Double {
    let l = Double(inLength) * scale
    return (l - Double(outLength)).magnitude <= 1e-9 * Swift.max(l, 1) ? Double(outLength) : l
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

    /// From both: output sizes that need not be floor(in·scale) (ONNX keep_aspect_ratio_policy
    /// rounds half up) and the scales the coordinate transforms use.
    public init(
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

/// The interpolation filter of one axis of a separable resize.
public enum ResizeFilter: Hashable, Sendable {
    /// One tap: the nearest input sample under the rounding.
    case nearest(NearestRounding)
    /// Triangle filter: two taps, or 2/scale when antialiased.
    case linear
    /// Keys' cubic convolution with coefficient `a` (ONNX cubic_coeff_a, −0.75 by default;
    /// −0.5 is Catmull-Rom): four taps, or 4/scale when antialiased.
    case cubic(a: Double)

    /// The filter's weight at distance `d` (in input samples, already scaled when antialiased).
    @inline(__always)
    func weight(_ d: Double) -> Double {
        let d = d.magnitude
        switch self {
        case .nearest: return d == 0 ? 1 : 0
        case .linear: return Swift.max(0, 1 - d)
        case .cubic(let a):
            if d <= 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
            if d < 2 { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
            return 0
        }
    }
}

/// tf_crop_and_resize's sampled stretch of one axis: `start` and `end` are fractions of the input
/// extent (ONNX `roi`); `end < start` samples it mirrored.
public struct ResizeRegion: Hashable, Sendable {
    /// Where sampling starts, as a fraction of the input extent (0 = the first sample).
    public var start: Double
    /// Where it ends (1 = the last sample).
    public var end: Double
    /// A region from `start` to `end`.
    public init(start: Double, end: Double) { self.start = start; self.end = end }
    /// The whole axis, [0, 1].
    public static let whole = ResizeRegion(start: 0, end: 1)
}

/// How a general resize samples each axis: ONNX Resize's options beyond nearest and plain
/// bilinear (cubic, antialias, exclude_outside, half_pixel_symmetric, tf_crop_and_resize).
public struct ResizeSampling: Hashable, Sendable {
    /// Nearest, linear or cubic.
    public var filter: ResizeFilter
    /// How output coordinates map to input ones.
    public var transform: CoordinateTransform
    /// Widen linear/cubic filters by 1/scale when downsampling (ONNX antialias).
    public var antialias: Bool
    /// Taps outside the input weigh 0 and the others are renormalized (ONNX exclude_outside);
    /// otherwise they read the nearest edge sample.
    public var excludeOutside: Bool
    /// tf_crop_and_resize's region of the height and width axes.
    public var cropHeight: ResizeRegion
    /// The same for the width axis.
    public var cropWidth: ResizeRegion
    /// The value of tf_crop_and_resize samples whose source lies outside the input.
    public var extrapolationValue: Double

    /// Defaults are ONNX's: no antialiasing, edge samples outside the input, the whole input.
    public init(
        filter: ResizeFilter, transform: CoordinateTransform, antialias: Bool = false, excludeOutside: Bool = false,
        cropHeight: ResizeRegion = .whole, cropWidth: ResizeRegion = .whole,
        extrapolationValue: Double = 0
    ) {
        self.filter = filter; self.transform = transform; self.antialias = antialias
        self.excludeOutside = excludeOutside; self.cropHeight = cropHeight; self.cropWidth = cropWidth
        self.extrapolationValue = extrapolationValue
    }
}

/// The taps of one axis: for output `o`, `perOutput` input indices (clamped to the input) and
/// weights from `o·perOutput`, or `outside[o]` when tf_crop_and_resize extrapolates there.
public struct ResizeTaps: Sendable {
    /// Taps per output sample (1 nearest, 2 linear, 4 cubic, more when antialiased).
    public let perOutput: Int
    /// Input indices, `perOutput` per output sample, clamped to the input.
    public let index: [Int]
    /// Their weights.
    public let weight: [Double]
    /// Output samples whose source lies outside the input (tf_crop_and_resize): they take the
    /// extrapolation value.
    public let outside: [Bool]

    /// ONNX Resize's one-axis sampling: the source coordinate `s = f + r` (`r` in (0, 1], so an
    /// exact sample is `r = 1` from the one below), taps `f + j` for the filter's support, each
    /// weighted by the filter at `(j − r)·scale'` where `scale'` is min(scale, 1) when
    /// antialiased, else 1.
    public init(
        _ sampling: ResizeSampling, inLength: Int, outLength: Int, scale: Double, region: ResizeRegion = .whole
    ) throws(KernelError) {
        let s = sampling.antialias ? Swift.min(scale, 1) : 1
        let reach: Double
        switch sampling.filter {
        case .nearest: reach = 0
        case .linear: reach = 1
        case .cubic: reach = 2
        }
        // Support −reach/s < j − r < reach/s; one output reads at most `n` inputs.
        let lowest = (-reach / s).rounded(.down) + 1
        guard lowest.isFinite, -lowest < Double(inLength) + 2 else {
            throw .tooLarge("resize filter of \(reach / s) samples on an axis of \(inLength)")
        }
        let first = reach == 0 ? 0 : Int(lowest), n = reach == 0 ? 1 : 2 - 2 * first
        guard let total = outLength.multipliedReportingOverflow(by: n).overflow ? nil : outLength * n,
            total <= 1 << 40
        else { throw .tooLarge("resize taps \(outLength)×\(n)") }
        var index = [Int](repeating: 0, count: total), weight = [Double](repeating: 0, count: total)
        var outside = [Bool](repeating: false, count: outLength)
        let last = inLength - 1
        for o in 0..<outLength {
            let x = sampling.transform.source(
                o, scale: scale, inLength: inLength, outLength: outLength, region: (region.start, region.end))
            if sampling.transform == .tfCropAndResize, x < 0 || x > Double(last) {
                outside[o] = true
                continue
            }
            if case .nearest(let rounding) = sampling.filter {
                index[o] = Swift.min(Swift.max(rounding.index(x), 0), last)
                weight[o] = 1
                continue
            }
            var f = x.rounded(.down), r = x - f
            if r == 0 { f -= 1; r = 1 }
            var sum = 0.0
            for k in 0..<n {
                let j = first + k, at = Int(f) + j
                var w = sampling.filter.weight((Double(j) - r) * s)
                if sampling.excludeOutside && (at < 0 || at > last) { w = 0 }
                index[o * n + k] = Swift.min(Swift.max(at, 0), last)
                weight[o * n + k] = w
                sum += w
            }
            if (sampling.antialias || sampling.excludeOutside) && sum != 0 {
                for k in 0..<n { weight[o * n + k] /= sum }
            }
        }
        perOutput = n; self.index = index; self.weight = weight; self.outside = outside
    }
}

/// A separable resize by tap tables: the width axis first (into a per-plane scratch of in-height
/// rows), then the height axis, as ONNX's reference interpolates the innermost axis first (it
/// matters only where tf_crop_and_resize extrapolates).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func resizeSeparable<T: KernelScalar>(
    _ geometry: ResizeGeometry, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    rows: ResizeTaps, columns: ResizeTaps, extrapolationValue: Double
) {
    let g = geometry
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let rn = rows.perOutput, cn = columns.perOutput
    let rw = rows.weight.map { T($0) }, cw = columns.weight.map { T($0) }
    let ext = T(extrapolationValue)
    rw.withUnsafeBufferPointer { rw in
        cw.withUnsafeBufferPointer { cw in
            rows.index.withUnsafeBufferPointer { ri in
                columns.index.withUnsafeBufferPointer { ci in
                    rows.outside.withUnsafeBufferPointer { ro in
                        columns.outside.withUnsafeBufferPointer { co in
                            forEachRow(g.input.batch * g.input.channels, cost: (ih * cn + oh * rn) * ow) { p in
                                let src = input + p * ih * iw, dst = output + p * oh * ow
                                withUnsafeTemporaryAllocation(of: T.self, capacity: ih * ow) { tmp in
                                    let t = tmp.baseAddress!
                                    for y in 0..<ih {
                                        let row = src + y * iw, out = t + y * ow
                                        for x in 0..<ow {
                                            if co[x] { out[x] = ext; continue }
                                            var acc: T = 0
                                            for k in 0..<cn { acc += cw[x * cn + k] * row[ci[x * cn + k]] }
                                            out[x] = acc
                                        }
                                    }
                                    for y in 0..<oh {
                                        let d = dst + y * ow
                                        if ro[y] {
                                            d.update(repeating: ext, count: ow)
                                            continue
                                        }
                                        d.update(repeating: 0, count: ow)
                                        for k in 0..<rn {
                                            let w = rw[y * rn + k], from = t + ri[y * rn + k] * ow
                                            for x in 0..<ow { d[x] += w * from[x] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
