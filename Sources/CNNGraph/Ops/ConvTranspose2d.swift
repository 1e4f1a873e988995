// ConvTranspose2d: the gradient of a 2-D convolution (upsampling decoders, GAN generators). Its
// kernel is CNNKernels' convTranspose2d, bound in CNNRuntime/Plan.swift; BatchNorm folds into it
// along axis 1 of its weight.
import CNNFormat

/// A 2-D transposed convolution. Its weight is laid out [in, out/groups, kh, kw] as in PyTorch and
/// ONNX, so that folding BatchNorm scales axis 1, not axis 0.
public struct ConvTranspose2d: Sendable, Equatable {
    /// [inChannels, outChannels / groups, kernelH, kernelW]
    public var weight: Tensor
    /// [outChannels]; nil when the layer has none.
    public var bias: Tensor?
    /// Kernel, stride, dilation and the padding cropped from the full output.
    public var window: Window2d
    /// inChannels and outChannels both divide into `groups`.
    public var groups: Int
    /// Extra rows/columns at the bottom/right that pick one of the input sizes a strided conv maps
    /// to the same output size; smaller than stride or dilation.
    public var outputPadding: (h: Int, w: Int)

    /// Defaults are PyTorch's `nn.ConvTranspose2d` ones.
    public init(
        weight: Tensor, bias: Tensor? = nil, window: Window2d, groups: Int = 1, outputPadding: (Int, Int) = (0, 0)
    ) {
        self.weight = weight; self.bias = bias; self.window = window; self.groups = groups
        self.outputPadding = (outputPadding.0, outputPadding.1)
    }
    /// Read from the weight, never stored twice.
    public var inChannels: Int { weight.shape[0] }
    /// Saturates at `Int.max` for a file whose weight and groups overflow (validation refuses it).
    public var outChannels: Int { weight.shape[1].multiplied(saturating: groups) }

    /// Written out because a tuple (`outputPadding`) is not `Equatable`.
    public static func == (a: ConvTranspose2d, b: ConvTranspose2d) -> Bool {
        a.weight == b.weight && a.bias == b.bias && a.window == b.window && a.groups == b.groups
            && a.outputPadding.h == b.outputPadding.h && a.outputPadding.w == b.outputPadding.w
    }

    /// (in − 1)·stride − pads + dilation·(k − 1) + outputPadding + 1; nil when a step overflows
    /// `Int` (a stride of 2^32 − 1 on a wide input does).
    public func outputSize(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ s: Int, _ p0: Int, _ p1: Int, _ d: Int, _ k: Int, _ extra: Int) -> Int? {
            guard let stretched = (input - 1).multiplied(checked: s),
                let reach = d.multiplied(checked: k - 1),
                let out = stretched.subtracting(checked: p0)?.subtracting(checked: p1)?.adding(checked: reach)?
                    .adding(checked: extra)?.adding(checked: 1)
            else { return nil }
            return out
        }
        guard
            let h = one(
                inputH, window.strideH, window.padTop, window.padBottom, window.dilationH, window.kernelH,
                outputPadding.h),
            let w = one(
                inputW, window.strideW, window.padLeft, window.padRight, window.dilationW, window.kernelW,
                outputPadding.w)
        else { return nil }
        return (h, w)
    }
}

extension ConvTranspose2d: OpDefinition {
    package var op: Op { .convTranspose2d(self) }
    package var kindName: String { "ConvTranspose2d" }
    package static var kindNames: [String] { ["ConvTranspose2d"] }
    package static var formatFields: [String] { ["conv_transpose2d"] }
    package static var summary: String {
        "2-D transposed convolution (the gradient of Conv2d): upsampling by stride, grouped"
    }
    package static var onnxImportTypes: [String] { ["ConvTranspose"] }
    package static var onnxExportTypes: [String] { ["ConvTranspose"] }

    package var parameters: [(role: String, tensor: Tensor)] {
        WeightReparameterization.parameters(weight: weight, bias: bias, nil)
    }

    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        weight = try transform(weight)
        try mapOptional(&bias, transform)
    }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        let c = self
        let x = try node.checkConvolution(
            ins, "ConvTranspose2d", weight: c.weight, layout: "[in, out/groups, kh, kw]", window: c.window)
        guard c.groups >= 1, c.weight.shape[0] % c.groups == 0 else {
            throw node.bad("groups \(c.groups) does not divide \(c.weight.shape[0]) input channels")
        }
        guard x[1] == c.weight.shape[0] else {
            throw node.fail(
                "input has \(x[1]) channels, weight '\(c.weight.name)' \(formatShape(c.weight.shape)) expects \(c.weight.shape[0])"
            )
        }
        guard c.outputPadding.h >= 0, c.outputPadding.w >= 0,
            c.outputPadding.h < max(c.window.strideH, c.window.dilationH),
            c.outputPadding.w < max(c.window.strideW, c.window.dilationW)
        else {
            throw node.bad(
                "output padding \(c.outputPadding.h)×\(c.outputPadding.w) must be smaller than stride or dilation")
        }
        try node.expectCount(c.bias, c.outChannels, "bias")
        guard c.weight.shape[1].multiplied(checked: c.groups) != nil else {
            throw .tooLarge(
                node: node.name,
                message: "\(c.weight.shape[1]) output channels per group × \(c.groups) groups overflows")
        }
        guard let (h, w) = c.outputSize(inputH: x[2], inputW: x[3]) else {
            throw .tooLarge(
                node: node.name,
                message:
                    "the output size of a \(x[2])×\(x[3]) input with stride \(c.window.strideH)×\(c.window.strideW), dilation \(c.window.dilationH)×\(c.window.dilationW), kernel \(c.window.kernelH)×\(c.window.kernelW) and padding overflows"
            )
        }
        guard h > 0, w > 0 else { throw node.fail("the output would be \(h)×\(w)") }
        return [x[0], c.outChannels, h, w]
    }

    package func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int {
        saturatingProduct(inputShapes.first ?? []).multiplied(saturating: saturatingProduct(weight.shape.dropFirst()))
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        var s = "\(inChannels)→\(outChannels) " + windowSummary(window)
        if groups > 1 { s += " g\(groups)" }
        if outputPadding.h != 0 || outputPadding.w != 0 { s += " op\(outputPadding.h)" }
        return s
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_ConvTranspose2d()
        o.weight = try e.ref(weight); o.bias = try e.ref(bias)
        o.window = GraphEncoder.window(window); o.groups = UInt32(clamping: groups)
        o.outputPaddingH = UInt32(clamping: outputPadding.h); o.outputPaddingW = UInt32(clamping: outputPadding.w)
        n.convTranspose2D = o
    }

    static func decode(_ c: Cnnconv_V1_ConvTranspose2d, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .convTranspose2d(
            ConvTranspose2d(
                weight: try d.tensor(c.weight, node: name, role: "weight"),
                bias: try d.optionalTensor(c.bias, node: name, role: "bias"),
                window: GraphDecoder.window(c.window), groups: Int(c.groups),
                outputPadding: (Int(c.outputPaddingH), Int(c.outputPaddingW))))
    }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        var ins = [n.inputs.first ?? "", b.param(weight)]
        if let bias { ins.append(b.param(bias, shape: [bias.count])) }
        b.node(
            "ConvTranspose", n.name, ins, [n.output],
            attributes: onnxWindowAttributes(window) + [
                ("group", .int(groups)), ("output_padding", .ints([outputPadding.h, outputPadding.w])),
            ])
    }
}
