// Resize: nearest, bilinear or bicubic scaling of H and W by fixed factors (FPN, U-Net,
// segmentation heads, image preprocessing), with ONNX's coordinate transforms, antialiasing and
// tf_crop_and_resize. CNNKernels' resizeNearest/resizeBilinear run the common cases and
// resizeSeparable the rest.
import CNNFormat
import CNNKernels

/// Resize by fixed scales with ONNX's sampling options: the same scale samples different pixels
/// under each coordinate transform and rounding, so the file keeps them.
public struct Resize: Sendable, Equatable {
    /// Nearest neighbour, (bi)linear or (bi)cubic interpolation over H and W.
    public enum Mode: String, Sendable { case nearest, bilinear, cubic }
    /// How an output coordinate maps to an input one (ONNX `coordinate_transformation_mode`).
    public enum CoordinateTransform: String, Sendable {
        case halfPixel = "half_pixel"
        case asymmetric
        case alignCorners = "align_corners"
        case pytorchHalfPixel = "pytorch_half_pixel"
        case halfPixelSymmetric = "half_pixel_symmetric"
        /// Samples `crop` of the input; samples from outside it are `extrapolationValue`.
        case tfCropAndResize = "tf_crop_and_resize"
    }
    /// How nearest mode rounds a fractional input coordinate (ONNX `nearest_mode`).
    public enum NearestRounding: String, Sendable {
        case floor
        case roundPreferFloor = "round_prefer_floor"
        case roundPreferCeil = "round_prefer_ceil"
        case ceil
    }
    /// Nearest or bilinear.
    public var mode: Mode
    /// Output height over input height (finite, > 0); the output is floor(in·scale).
    public var scaleH: Double
    /// Output width over input width (finite, > 0).
    public var scaleW: Double
    /// How output coordinates map to input ones.
    public var coordinateTransform: CoordinateTransform
    /// How nearest mode rounds; ignored in bilinear mode.
    public var nearestRounding: NearestRounding
    /// Cubic mode's Keys coefficient a (ONNX `cubic_coeff_a`).
    public var cubicCoefficient: Double = -0.75
    /// Taps outside the input weigh 0, the others are renormalized (ONNX `exclude_outside`).
    public var excludeOutside = false
    /// Bilinear and cubic downsampling widen the filter by 1/scale (ONNX `antialias`).
    public var antialias = false
    /// tf_crop_and_resize's region as fractions of the input: top, left, bottom, right.
    public var crop: [Double] = [0, 0, 1, 1]
    /// tf_crop_and_resize's value for samples outside the input.
    public var extrapolationValue: Double = 0
    /// The output size is floor(in·scale + 0.5) rather than floor(in·scale) (ONNX
    /// `keep_aspect_ratio_policy` not_larger / not_smaller, which rounds half up).
    public var roundsOutputSize = false
    /// Defaults are ONNX Resize-11's (half-pixel, round-prefer-floor).
    public init(
        mode: Mode, scaleH: Double, scaleW: Double, coordinateTransform: CoordinateTransform = .halfPixel,
        nearestRounding: NearestRounding = .roundPreferFloor
    ) {
        self.mode = mode; self.scaleH = scaleH; self.scaleW = scaleW
        self.coordinateTransform = coordinateTransform; self.nearestRounding = nearestRounding
    }
    /// floor(in·scale) (or rounded half up, `roundsOutputSize`) per axis; nil when a scale is
    /// not finite and positive or the size would not fit an `Int` exactly (above 2^53).
    public func outputSize(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ scale: Double) -> Int? {
            guard scale.isFinite, scale > 0 else { return nil }
            let v = (Double(input) * scale + (roundsOutputSize ? 0.5 : 0)).rounded(.down)
            guard v.isFinite, abs(v) <= 9_007_199_254_740_992 else { return nil }
            return Int(exactly: v)
        }
        guard let h = one(inputH, scaleH), let w = one(inputW, scaleW) else { return nil }
        return (h, w)
    }
}

extension Resize: OpDefinition {
    package var op: Op { .resize(self) }
    package var kindName: String { "Resize" }
    package static var kindNames: [String] { ["Resize"] }
    package static var formatFields: [String] { ["resize"] }
    package static var summary: String {
        "nearest, bilinear or bicubic scaling of H and W with ONNX coordinate transforms and antialiasing"
    }
    package static var onnxImportTypes: [String] { ["Resize", "Upsample"] }
    package static var onnxExportTypes: [String] { ["Resize"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        let r = self
        try node.expectInputs(ins, 1)
        let x = ins[0]
        guard x.count == 4 else { throw node.fail("Resize takes NCHW input, got \(formatShape(x))") }
        guard r.scaleH > 0, r.scaleW > 0, r.scaleH.isFinite, r.scaleW.isFinite else {
            throw node.bad("scales \(r.scaleH)×\(r.scaleW) must be finite and positive")
        }
        guard let (h, w) = r.outputSize(inputH: x[2], inputW: x[3]) else {
            throw .tooLarge(
                node: node.name, message: "scaling \(x[2])×\(x[3]) by \(r.scaleH)×\(r.scaleW) gives a size past 2^53")
        }
        guard h > 0, w > 0 else { throw node.fail("the output would be \(h)×\(w)") }
        guard crop.count == 4, crop.allSatisfy(\.isFinite), extrapolationValue.isFinite || extrapolationValue.isNaN,
            cubicCoefficient.isFinite
        else { throw node.bad("crop \(crop), cubic coefficient \(cubicCoefficient) must be finite") }
        return [x[0], x[1], h, w]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        "\(mode.rawValue) ×\(trimmed(scaleH))" + (scaleH == scaleW ? "" : "×\(trimmed(scaleW))")
            + " \(coordinateTransform.rawValue)" + (antialias ? " antialias" : "")
    }

    /// ONNX Resize takes antialias and keep_aspect_ratio_policy from opset 18, half_pixel_symmetric
    /// from 19.
    package var onnxMinimumOpset: Int {
        if coordinateTransform == .halfPixelSymmetric { return 19 }
        return antialias || roundsOutputSize ? 18 : 17
    }

    /// The kernels' sampling of this resize.
    var sampling: ResizeSampling {
        let filter: ResizeFilter
        switch mode {
        case .nearest:
            filter = .nearest(CNNKernels.NearestRounding(rawValue: nearestRounding.rawValue) ?? .roundPreferFloor)
        case .bilinear: filter = .linear
        case .cubic: filter = .cubic(a: cubicCoefficient)
        }
        let c = crop.count == 4 ? crop : [0, 0, 1, 1]
        return ResizeSampling(
            filter: filter,
            transform: CNNKernels.CoordinateTransform(rawValue: coordinateTransform.rawValue) ?? .halfPixel,
            antialias: antialias && mode != .nearest, excludeOutside: excludeOutside,
            cropHeight: ResizeRegion(start: c[0], end: c[2]), cropWidth: ResizeRegion(start: c[1], end: c[3]),
            extrapolationValue: extrapolationValue)
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let input = try shape4(b.xs)
        guard let (oh, ow) = outputSize(inputH: input.height, inputW: input.width) else {
            throw .tooLarge("resize \(input) by \(scaleH)x\(scaleW)")
        }
        let g = try ResizeGeometry(input: input, outHeight: oh, outWidth: ow, scaleHeight: scaleH, scaleWidth: scaleW)
        guard let transform = CNNKernels.CoordinateTransform(rawValue: coordinateTransform.rawValue) else {
            throw .shapeMismatch("unknown coordinate transform \(coordinateTransform.rawValue)")
        }
        let (x, y) = (b.x, b.output)
        let plainTransform = [.halfPixel, .asymmetric, .alignCorners, .pytorchHalfPixel].contains(coordinateTransform)
        let plain = plainTransform && !antialias && !excludeOutside
        if mode != .nearest || !plainTransform {
            if mode == .bilinear && plain { return { resizeBilinear(g, input: x, output: y, transform: transform) } }
            let s = sampling
            let rows = try ResizeTaps(
                s, inLength: input.height, outLength: oh, scale: scaleH, region: s.cropHeight)
            let columns = try ResizeTaps(
                s, inLength: input.width, outLength: ow, scale: scaleW, region: s.cropWidth)
            let ext = extrapolationValue
            return {
                resizeSeparable(g, input: x, output: y, rows: rows, columns: columns, extrapolationValue: ext)
            }
        }
        guard let rounding = CNNKernels.NearestRounding(rawValue: nearestRounding.rawValue) else {
            throw .shapeMismatch("unknown nearest rounding \(nearestRounding.rawValue)")
        }
        return { resizeNearest(g, input: x, output: y, transform: transform, rounding: rounding) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Resize()
        switch mode {
        case .nearest: o.mode = .nearest
        case .bilinear: o.mode = .bilinear
        case .cubic: o.mode = .cubic; o.cubicCoefficient = cubicCoefficient
        }
        o.scaleH = scaleH; o.scaleW = scaleW
        o.excludeOutside = excludeOutside; o.antialias = antialias; o.roundOutputSize = roundsOutputSize
        if coordinateTransform == .tfCropAndResize, crop.count == 4 {
            o.cropTop = crop[0]; o.cropLeft = crop[1]; o.cropBottom = crop[2]; o.cropRight = crop[3]
            o.extrapolationValue = extrapolationValue
        }
        switch coordinateTransform {
        case .halfPixel: o.coordinateTransform = .halfPixel
        case .asymmetric: o.coordinateTransform = .asymmetric
        case .alignCorners: o.coordinateTransform = .alignCorners
        case .pytorchHalfPixel: o.coordinateTransform = .pytorchHalfPixel
        case .halfPixelSymmetric: o.coordinateTransform = .halfPixelSymmetric
        case .tfCropAndResize: o.coordinateTransform = .tfCropAndResize
        }
        switch nearestRounding {
        case .floor: o.nearestRounding = .floor
        case .roundPreferFloor: o.nearestRounding = .roundPreferFloor
        case .roundPreferCeil: o.nearestRounding = .roundPreferCeil
        case .ceil: o.nearestRounding = .ceil
        }
        n.resize = o
    }

    static func decode(_ r: Cnnconv_V1_Resize, node name: String, _ d: inout GraphDecoder) throws -> Op {
        let transform: Resize.CoordinateTransform
        switch try d.known(r.coordinateTransform, name, "resize.coordinate_transform") {
        case .asymmetric: transform = .asymmetric
        case .alignCorners: transform = .alignCorners
        case .pytorchHalfPixel: transform = .pytorchHalfPixel
        case .halfPixelSymmetric: transform = .halfPixelSymmetric
        case .tfCropAndResize: transform = .tfCropAndResize
        default: transform = .halfPixel
        }
        let rounding: Resize.NearestRounding
        switch try d.known(r.nearestRounding, name, "resize.nearest_rounding") {
        case .floor: rounding = .floor
        case .roundPreferCeil: rounding = .roundPreferCeil
        case .ceil: rounding = .ceil
        default: rounding = .roundPreferFloor
        }
        let mode: Resize.Mode
        switch try d.known(r.mode, name, "resize.mode") {
        case .bilinear: mode = .bilinear
        case .cubic: mode = .cubic
        default: mode = .nearest
        }
        var resize = Resize(
            mode: mode, scaleH: r.scaleH, scaleW: r.scaleW, coordinateTransform: transform, nearestRounding: rounding)
        if mode == .cubic { resize.cubicCoefficient = r.cubicCoefficient }
        resize.excludeOutside = r.excludeOutside; resize.antialias = r.antialias
        resize.roundsOutputSize = r.roundOutputSize
        if transform == .tfCropAndResize {
            resize.crop = [r.cropTop, r.cropLeft, r.cropBottom, r.cropRight]
            resize.extrapolationValue = r.extrapolationValue
        }
        return .resize(resize)
    }

    /// ONNX scales are Float32: each is nudged up until it gives the same output size as ours.
    /// Sizes replace scales where the scales cannot say it: a rounded output size (written with
    /// keep_aspect_ratio_policy) and tf_crop_and_resize (whose output size from scales onnxruntime
    /// computes over the region only).
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        func float32(_ scale: Double, _ inSize: Int) -> Float {
            let out = Int((Double(inSize) * scale).rounded(.down))
            var f = Float(scale)
            while Int((Double(inSize) * Double(f)).rounded(.down)) < out { f = f.nextUp }
            return f
        }
        let x = n.inputs.first ?? ""
        let s = b.shape(of: x) ?? [1, 1, 1, 1]
        let (oh, ow) = outputSize(inputH: s[2], inputW: s[3]) ?? (1, 1)
        var attrs: [(String, AttributeValue)] = [
            ("mode", .string(mode == .nearest ? "nearest" : mode == .bilinear ? "linear" : "cubic")),
            ("coordinate_transformation_mode", .string(coordinateTransform.rawValue)),
        ]
        if mode == .nearest { attrs.append(("nearest_mode", .string(nearestRounding.rawValue))) }
        if mode == .cubic { attrs.append(("cubic_coeff_a", .float(cubicCoefficient))) }
        if excludeOutside { attrs.append(("exclude_outside", .int(1))) }
        if antialias { attrs.append(("antialias", .int(1))) }
        var roi = ""
        if coordinateTransform == .tfCropAndResize {
            let c = crop.count == 4 ? crop : [0, 0, 1, 1]
            roi = b.initializer(
                "\(n.name).roi", shape: [8], floats: [0, 0, c[0], c[1], 1, 1, c[2], c[3]].map { Float($0) })
            attrs.append(("extrapolation_value", .float(extrapolationValue)))
        }
        let snapped =
            resizedLength(scale: scaleH, inLength: s[2], outLength: oh) == Double(oh)
            && resizedLength(scale: scaleW, inLength: s[3], outLength: ow) == Double(ow)
        if roundsOutputSize {
            // keep_aspect_ratio_policy not_larger takes the smaller of sizes/in: the axis where
            // scale·in is whole gives the scale, the other a size at least as large.
            guard scaleH == scaleW else {
                throw OpExportError("a rounded output size needs one scale, has \(scaleH)×\(scaleW)")
            }
            let exactH = Double(s[2]) * scaleH, exactW = Double(s[3]) * scaleW
            let sizes: [Int]
            if exactH == exactH.rounded() {
                sizes = [Int(exactH), Int(exactW.rounded(.up))]
            } else if exactW == exactW.rounded() {
                sizes = [Int(exactH.rounded(.up)), Int(exactW)]
            } else {
                throw OpExportError("scale \(scaleH) gives no whole size of \(formatShape(s)) for ONNX's sizes")
            }
            attrs.append(("axes", .ints([2, 3])))
            attrs.append(("keep_aspect_ratio_policy", .string("not_larger")))
            b.node("Resize", n.name, [x, roi, "", b.ints("\(n.name).sizes", sizes)], [n.output], attributes: attrs)
        } else if coordinateTransform == .tfCropAndResize && snapped {
            let sizes = b.ints("\(n.name).sizes", [s[0], s[1], oh, ow])
            b.node("Resize", n.name, [x, roi, "", sizes], [n.output], attributes: attrs)
        } else {
            let scales = b.initializer(
                "\(n.name).scales", shape: [4], floats: [1, 1, float32(scaleH, s[2]), float32(scaleW, s[3])])
            b.node("Resize", n.name, [x, roi, scales], [n.output], attributes: attrs)
        }
    }
}
