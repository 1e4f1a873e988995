// LayerNorm: normalization over the trailing axes [axis, rank) (transformers, ConvNeXt). It cannot
// fold; CNNKernels' layerNorm runs it.
import CNNFormat
import CNNKernels

/// Normalizes over axes [axis, rank).
public struct LayerNorm: Sendable, Equatable {
    /// γ, shaped as the normalized axes; nil means 1.
    public var scale: Tensor?
    /// β, shaped as the normalized axes; nil means 0.
    public var bias: Tensor?
    /// ε, added to the variance.
    public var epsilon: Double
    /// The first normalized axis; negative counts from the end.
    public var axis: Int
    /// ε defaults to PyTorch's 1e-5; nil γ/β mean 1 and 0; `axis` may be negative (from the end).
    public init(scale: Tensor?, bias: Tensor?, epsilon: Double = 1e-5, axis: Int) {
        self.scale = scale; self.bias = bias; self.epsilon = epsilon; self.axis = axis
    }
}

extension LayerNorm: ScaleAndBiasParameters {
    package var op: Op { .layerNorm(self) }
    package var kindName: String { "LayerNorm" }
    package static var kindNames: [String] { ["LayerNorm"] }
    package static var formatFields: [String] { ["layer_norm"] }
    package static var summary: String { "normalization over axes [axis, rank) with optional γ, β" }
    package static var onnxImportTypes: [String] { ["LayerNormalization"] }
    package static var onnxExportTypes: [String] { ["LayerNormalization"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        let a = try node.normalizedAxis(axis, rank: ins[0].count)
        try node.checkEpsilon(epsilon)
        let size = ins[0][a...].reduce(1, *)
        try node.expectCount(scale, size, "scale")
        try node.expectCount(bias, size, "bias")
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "axis=\(axis) eps=\(sci(epsilon))" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let xs = b.xs, a = axis < 0 ? axis + xs.count : axis
        guard a >= 0, a < xs.count else { throw .axisOutOfRange(axis: axis, rank: xs.count) }
        let inner = xs[a...].reduce(1, *)
        let sc = scale.map(p.tensor) ?? p.filled(1, inner), bi = bias.map(p.tensor)
        let (eps, x, y) = (epsilon, b.x, b.output)
        return { try layerNorm(input: x, output: y, shape: xs, axis: a, scale: sc, bias: bi, epsilon: eps) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_LayerNorm()
        o.scale = try e.ref(scale); o.bias = try e.ref(bias); o.epsilon = epsilon; o.axis = Int32(clamping: axis)
        n.layerNorm = o
    }

    static func decode(_ l: Cnnconv_V1_LayerNorm, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .layerNorm(
            LayerNorm(
                scale: try d.optionalTensor(l.scale, node: name, role: "scale"),
                bias: try d.optionalTensor(l.bias, node: name, role: "bias"), epsilon: l.epsilon, axis: Int(l.axis)))
    }

    /// ONNX's LayerNormalization requires its scale: an op without one exports ones.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? ""
        guard let s = b.shape(of: x) else { throw OpExportError("input shape unknown") }
        let a = axis < 0 ? axis + s.count : axis
        let normalized = Array(s[a...])
        let count = normalized.reduce(1, *)
        let scale =
            self.scale.map { b.param($0) }
            ?? b.initializer("\(n.name).scale", shape: normalized, floats: .init(repeating: 1, count: count))
        var ins = [x, scale]
        if let bias { ins.append(b.param(bias)) }
        b.node(
            "LayerNormalization", n.name, ins, [n.output],
            attributes: [("axis", .int(axis)), ("epsilon", .float(epsilon))])
    }
}
