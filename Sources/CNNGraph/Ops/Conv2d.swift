// Conv2d: 2-D convolution, grouped and depthwise included, optionally with a reparameterized
// weight. Its kernel is CNNKernels' conv2d; the executor binds it in CNNRuntime/Plan.swift (with
// pre-packed weights and fused activations), and the fold passes rewrite its weights.
import CNNFormat

/// A 2-D convolution with its parameters held by value, so that a fold pass rewrites the weights
/// of one node without touching a shared table; the tensors keep their file names.
public struct Conv2d: Sendable, Equatable {
    /// [outChannels, inChannels / groups, kernelH, kernelW]
    public var weight: Tensor
    /// [outChannels]; nil when the layer has none (folding BatchNorm in then creates one).
    public var bias: Tensor?
    /// Kernel, stride, dilation and (possibly asymmetric) padding.
    public var window: Window2d
    /// inChannels and outChannels both divide into `groups`; groups = inChannels is depthwise.
    public var groups: Int
    /// How `weight` becomes the weight used; nil for a plain weight.
    public var reparameterization: WeightReparameterization?

    /// Defaults are PyTorch's `nn.Conv2d` ones (no bias given means none).
    public init(
        weight: Tensor, bias: Tensor? = nil, window: Window2d, groups: Int = 1,
        reparameterization: WeightReparameterization? = nil
    ) {
        self.weight = weight; self.bias = bias; self.window = window; self.groups = groups
        self.reparameterization = reparameterization
    }
    /// Read from the weight, never stored twice.
    public var outChannels: Int { weight.shape[0] }
    /// Saturates at `Int.max` for a file whose weight and groups overflow (validation refuses it).
    public var inChannels: Int { weight.shape[1].multiplied(saturating: groups) }
}

extension Conv2d: ReparameterizedWeightParameters {
    package var op: Op { .conv2d(self) }
    package var kindName: String { groups > 1 && groups == inChannels ? "DepthwiseConv2d" : "Conv2d" }
    package static var kindNames: [String] { ["Conv2d", "DepthwiseConv2d"] }
    package static var formatFields: [String] { ["conv2d"] }
    package static var summary: String {
        "y = W ⊛ x + b: 2-D convolution, grouped and depthwise, optionally weight-normalized or standardized"
    }
    package static var onnxImportTypes: [String] { ["Conv"] }
    package static var onnxExportTypes: [String] { ["Conv"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        let c = self
        let x = try node.checkConvolution(
            ins, "Conv2d", weight: c.weight, layout: "[out, in/groups, kh, kw]", window: c.window)
        guard c.groups >= 1 else { throw node.bad("groups is \(c.groups), must be ≥ 1") }
        let out = c.weight.shape[0]
        guard x[1] == c.weight.shape[1].multiplied(checked: c.groups) else {
            throw node.fail(
                "input has \(x[1]) channels, weight '\(c.weight.name)' \(formatShape(c.weight.shape)) with groups \(c.groups) expects \(c.weight.shape[1] * c.groups)"
            )
        }
        guard out % c.groups == 0 else {
            throw node.fail("\(out) output channels do not divide into \(c.groups) groups")
        }
        try node.expectCount(c.bias, out, "bias")
        try node.checkReparameterization(c.reparameterization, outChannels: out)
        guard let (h, w) = c.window.outputSize(inputH: x[2], inputW: x[3]), h > 0, w > 0 else {
            throw node.fail("the \(c.window.kernelH)×\(c.window.kernelW) kernel does not fit the \(x[2])×\(x[3]) input")
        }
        return [x[0], out, h, w]
    }

    package func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int {
        saturatingProduct(outputShape).multiplied(saturating: saturatingProduct(weight.shape.dropFirst()))
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        var s = "\(inChannels)→\(outChannels) " + windowSummary(window)
        if groups > 1 { s += " g\(groups)" }
        if bias == nil { s += " no-bias" }
        switch reparameterization {
        case .weightNorm?: s += " weight-norm"
        case .weightStandardization?: s += " weight-std"
        case nil: break
        }
        return s
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Conv2d()
        o.weight = try e.ref(weight); o.bias = try e.ref(bias)
        o.window = GraphEncoder.window(window); o.groups = UInt32(clamping: groups)
        if let r = try e.reparameterization(reparameterization) { o.reparameterization = r }
        n.conv2D = o
    }

    static func decode(_ c: Cnnconv_V1_Conv2d, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .conv2d(
            Conv2d(
                weight: try d.tensor(c.weight, node: name, role: "weight"),
                bias: try d.optionalTensor(c.bias, node: name, role: "bias"),
                window: GraphDecoder.window(c.window), groups: Int(c.groups),
                reparameterization: try d.reparameterization(c.hasReparameterization, c.reparameterization, node: name))
        )
    }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let w =
            reparameterization == nil
            ? b.param(weight)
            : b.initializer(
                weight.name, shape: weight.shape,
                floats: WeightReparameterization.effectiveWeight(weight, reparameterization).map { Float($0) })
        var ins = [n.inputs.first ?? "", w]
        if let bias { ins.append(b.param(bias, shape: [bias.count])) }
        b.node("Conv", n.name, ins, [n.output], attributes: onnxWindowAttributes(window) + [("group", .int(groups))])
    }
}
