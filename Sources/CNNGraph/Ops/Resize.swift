// Resize: nearest or bilinear scaling of H and W by fixed factors (FPN, U-Net, segmentation
// heads), with ONNX's coordinate transforms. CNNKernels' resizeNearest/resizeBilinear run it.
import CNNFormat
import CNNKernels

/// Resize by fixed scales with ONNX's sampling options: the same scale samples different pixels
/// under each coordinate transform and rounding, so the file keeps them.
public struct Resize: Sendable, Equatable {
    /// Nearest neighbour or (bi)linear interpolation over H and W.
    public enum Mode: String, Sendable { case nearest, bilinear }
    /// How an output coordinate maps to an input one (ONNX `coordinate_transformation_mode`).
    public enum CoordinateTransform: String, Sendable {
        case halfPixel = "half_pixel"
        case asymmetric
        case alignCorners = "align_corners"
        case pytorchHalfPixel = "pytorch_half_pixel"
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
    /// Defaults are ONNX Resize-11's (half-pixel, round-prefer-floor).
    public init(
        mode: Mode, scaleH: Double, scaleW: Double, coordinateTransform: CoordinateTransform = .halfPixel,
        nearestRounding: NearestRounding = .roundPreferFloor
    ) {
        self.mode = mode; self.scaleH = scaleH; self.scaleW = scaleW
        self.coordinateTransform = coordinateTransform; self.nearestRounding = nearestRounding
    }
    /// floor(in·scale) per axis; nil when a scale is not finite and positive or the size would
    /// not fit an `Int` exactly (above 2^53).
    public func outputSize(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ scale: Double) -> Int? {
            guard scale.isFinite, scale > 0 else { return nil }
            let v = (Double(input) * scale).rounded(.down)
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
    package static var summary: String { "nearest or bilinear scaling of H and W with ONNX coordinate transforms" }
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
        return [x[0], x[1], h, w]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        "\(mode.rawValue) ×\(trimmed(scaleH))" + (scaleH == scaleW ? "" : "×\(trimmed(scaleW))")
            + " \(coordinateTransform.rawValue)"
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let g = try ResizeGeometry(input: shape4(b.xs), scaleHeight: scaleH, scaleWidth: scaleW)
        guard let transform = CNNKernels.CoordinateTransform(rawValue: coordinateTransform.rawValue) else {
            throw .shapeMismatch("unknown coordinate transform \(coordinateTransform.rawValue)")
        }
        let (x, y) = (b.x, b.output)
        if mode == .bilinear { return { resizeBilinear(g, input: x, output: y, transform: transform) } }
        guard let rounding = CNNKernels.NearestRounding(rawValue: nearestRounding.rawValue) else {
            throw .shapeMismatch("unknown nearest rounding \(nearestRounding.rawValue)")
        }
        return { resizeNearest(g, input: x, output: y, transform: transform, rounding: rounding) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Resize()
        o.mode = mode == .nearest ? .nearest : .bilinear
        o.scaleH = scaleH; o.scaleW = scaleW
        switch coordinateTransform {
        case .halfPixel: o.coordinateTransform = .halfPixel
        case .asymmetric: o.coordinateTransform = .asymmetric
        case .alignCorners: o.coordinateTransform = .alignCorners
        case .pytorchHalfPixel: o.coordinateTransform = .pytorchHalfPixel
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
        default: transform = .halfPixel
        }
        let rounding: Resize.NearestRounding
        switch try d.known(r.nearestRounding, name, "resize.nearest_rounding") {
        case .floor: rounding = .floor
        case .roundPreferCeil: rounding = .roundPreferCeil
        case .ceil: rounding = .ceil
        default: rounding = .roundPreferFloor
        }
        return .resize(
            Resize(
                mode: try d.known(r.mode, name, "resize.mode") == .bilinear ? .bilinear : .nearest, scaleH: r.scaleH,
                scaleW: r.scaleW,
                coordinateTransform: transform, nearestRounding: rounding))
    }

    /// ONNX scales are Float32: each is nudged up until it gives the same output size as ours.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        func float32(_ scale: Double, _ inSize: Int) -> Float {
            let out = Int((Double(inSize) * scale).rounded(.down))
            var f = Float(scale)
            while Int((Double(inSize) * Double(f)).rounded(.down)) < out { f = f.nextUp }
            return f
        }
        let x = n.inputs.first ?? ""
        let s = b.shape(of: x) ?? [1, 1, 1, 1]
        let scales = b.initializer(
            "\(n.name).scales", shape: [4], floats: [1, 1, float32(scaleH, s[2]), float32(scaleW, s[3])])
        var attrs: [(String, AttributeValue)] = [
            ("mode", .string(mode == .nearest ? "nearest" : "linear")),
            ("coordinate_transformation_mode", .string(coordinateTransform.rawValue)),
        ]
        if mode == .nearest { attrs.append(("nearest_mode", .string(nearestRounding.rawValue))) }
        b.node("Resize", n.name, [x, "", scales], [n.output], attributes: attrs)
    }
}
