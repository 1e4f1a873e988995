// GroupNorm: normalization over groups of channels and all positions (detection and diffusion
// models). It cannot fold; CNNKernels' groupNorm runs it.
import CNNFormat
import CNNKernels

/// GroupNorm with per-channel γ and β (PyTorch's and ONNX opset 21's meaning; older per-group
/// ONNX parameters are expanded on import).
public struct GroupNorm: Sendable, Equatable {
    /// The number of channel groups; divides the channel count.
    public var groups: Int
    /// γ, per channel; nil means 1.
    public var scale: Tensor?
    /// β, per channel; nil means 0.
    public var bias: Tensor?
    /// ε, added to the group variance.
    public var epsilon: Double
    /// ε defaults to PyTorch's 1e-5; nil γ/β mean 1 and 0.
    public init(groups: Int, scale: Tensor?, bias: Tensor?, epsilon: Double = 1e-5) {
        self.groups = groups; self.scale = scale; self.bias = bias; self.epsilon = epsilon
    }
}

extension GroupNorm: ScaleAndBiasParameters {
    package var op: Op { .groupNorm(self) }
    package var kindName: String { "GroupNorm" }
    package static var kindNames: [String] { ["GroupNorm"] }
    package static var formatFields: [String] { ["group_norm"] }
    package static var summary: String { "normalization over groups of channels with per-channel γ, β" }
    package static var onnxImportTypes: [String] { ["GroupNormalization"] }
    package static var onnxExportTypes: [String] { ["GroupNormalization"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        let x = ins[0]
        guard x.count >= 3 else { throw node.fail("GroupNorm takes NC… input, got \(formatShape(x))") }
        guard groups >= 1, x[1] % groups == 0 else {
            throw node.bad("\(x[1]) channels do not divide into \(groups) groups")
        }
        try node.checkEpsilon(epsilon)
        try node.expectCount(scale, x[1], "scale")
        try node.expectCount(bias, x[1], "bias")
        return x
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "groups=\(groups) eps=\(sci(epsilon))" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let shape = shape4(b.xs), c = shape.channels, g = groups, eps = epsilon
        let sc = scale.map(p.tensor) ?? p.filled(1, c), bi = bias.map(p.tensor) ?? p.filled(0, c)
        let (x, y) = (b.x, b.output)
        return { try groupNorm(shape, groups: g, input: x, output: y, scale: sc, bias: bi, epsilon: eps) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_GroupNorm()
        o.numGroups = UInt32(clamping: groups); o.scale = try e.ref(scale); o.bias = try e.ref(bias);
        o.epsilon = epsilon
        n.groupNorm = o
    }

    static func decode(_ g: Cnnconv_V1_GroupNorm, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .groupNorm(
            GroupNorm(
                groups: Int(g.numGroups), scale: try d.optionalTensor(g.scale, node: name, role: "scale"),
                bias: try d.optionalTensor(g.bias, node: name, role: "bias"), epsilon: g.epsilon))
    }

    /// Per-channel γ and β are GroupNormalization's meaning from opset 21 (18 had per-group ones).
    package var onnxMinimumOpset: Int { 21 }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? ""
        let c = b.shape(of: x)?[1] ?? 0
        let (scale, bias) = b.channelScaleAndBias(self.scale, self.bias, channels: c, node: n.name)
        b.node(
            "GroupNormalization", n.name, [x, scale, bias], [n.output],
            attributes: [("num_groups", .int(groups)), ("epsilon", .float(epsilon))])
    }
}
