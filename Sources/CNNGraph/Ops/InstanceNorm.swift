// InstanceNorm: per-sample, per-channel normalization over positions (style transfer). It cannot
// fold; CNNKernels' instanceNorm runs it.
import CNNFormat
import CNNKernels

/// InstanceNorm normalizes with each sample's own statistics, so unlike BatchNorm nothing can be
/// precomputed and it never folds.
public struct InstanceNorm: Sendable, Equatable {
    /// γ, per channel; nil means 1.
    public var scale: Tensor?
    /// β, per channel; nil means 0.
    public var bias: Tensor?
    /// ε, added to each instance's variance.
    public var epsilon: Double
    /// ε defaults to PyTorch's 1e-5; nil γ/β mean 1 and 0.
    public init(scale: Tensor?, bias: Tensor?, epsilon: Double = 1e-5) {
        self.scale = scale; self.bias = bias; self.epsilon = epsilon
    }
}

extension InstanceNorm: ScaleAndBiasParameters {
    package var op: Op { .instanceNorm(self) }
    package var kindName: String { "InstanceNorm" }
    package static var kindNames: [String] { ["InstanceNorm"] }
    package static var formatFields: [String] { ["instance_norm"] }
    package static var summary: String { "normalization per sample and channel with per-channel γ, β" }
    package static var onnxImportTypes: [String] { ["InstanceNormalization"] }
    package static var onnxExportTypes: [String] { ["InstanceNormalization"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        guard ins[0].count >= 3 else { throw node.fail("InstanceNorm takes NC… input, got \(formatShape(ins[0]))") }
        try node.checkEpsilon(epsilon)
        try node.expectCount(scale, ins[0][1], "scale")
        try node.expectCount(bias, ins[0][1], "bias")
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "eps=\(sci(epsilon))" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let shape = shape4(b.xs), c = shape.channels, eps = epsilon
        let sc = scale.map(p.tensor) ?? p.filled(1, c), bi = bias.map(p.tensor) ?? p.filled(0, c)
        let (x, y) = (b.x, b.output)
        return { instanceNorm(shape, input: x, output: y, scale: sc, bias: bi, epsilon: eps) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_InstanceNorm()
        o.scale = try e.ref(scale); o.bias = try e.ref(bias); o.epsilon = epsilon
        n.instanceNorm = o
    }

    static func decode(_ i: Cnnconv_V1_InstanceNorm, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .instanceNorm(
            InstanceNorm(
                scale: try d.optionalTensor(i.scale, node: name, role: "scale"),
                bias: try d.optionalTensor(i.bias, node: name, role: "bias"), epsilon: i.epsilon))
    }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? ""
        let c = b.shape(of: x)?[1] ?? 0
        let (scale, bias) = b.channelScaleAndBias(self.scale, self.bias, channels: c, node: n.name)
        b.node(
            "InstanceNormalization", n.name, [x, scale, bias], [n.output], attributes: [("epsilon", .float(epsilon))])
    }
}
