// Affine: y = scale·x + shift per channel — what a BatchNorm that cannot fold becomes (the
// passes precompute it). CNNKernels' channelAffine runs it; ONNX gets Mul then Add.
import CNNFormat
import CNNKernels

/// y = scale·x + shift per channel (axis 1).
public struct Affine: Sendable, Equatable {
    /// Per-channel factor a (for a folded-away BatchNorm, γ/√(σ²+ε)).
    public var scale: Tensor
    /// Per-channel offset b (for a folded-away BatchNorm, β − μ·a).
    public var shift: Tensor
    /// Both per channel, of equal length.
    public init(scale: Tensor, shift: Tensor) { self.scale = scale; self.shift = shift }
    /// Read from the scale, never stored twice.
    public var channels: Int { scale.count }
}

extension Affine: OpDefinition {
    package var op: Op { .affine(self) }
    package var kindName: String { "Affine" }
    package static var kindNames: [String] { ["Affine"] }
    package static var formatFields: [String] { ["affine"] }
    package static var summary: String { "y = scale·x + shift per channel (an unfoldable BatchNorm)" }
    package static var onnxExportTypes: [String] { ["Mul", "Add"] }

    package var parameters: [(role: String, tensor: Tensor)] { [("scale", scale), ("shift", shift)] }

    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        scale = try transform(scale)
        shift = try transform(shift)
    }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        guard ins[0].count >= 2 else { throw node.fail("Affine needs a channel axis, got \(formatShape(ins[0]))") }
        try node.expectCount(scale, ins[0][1], "scale")
        try node.expectCount(shift, ins[0][1], "shift")
        return ins[0]
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let shape = shape4(b.xs), sc = p.tensor(scale), sh = p.tensor(shift), x = b.x, y = b.output
        return { channelAffine(shape, input: x, output: y, scale: sc, shift: sh) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Affine(); o.scale = try e.ref(scale); o.shift = try e.ref(shift); n.affine = o
    }

    static func decode(_ a: Cnnconv_V1_Affine, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .affine(
            Affine(
                scale: try d.tensor(a.scale, node: name, role: "scale"),
                shift: try d.tensor(a.shift, node: name, role: "shift")))
    }

    /// The per-channel vectors shaped [C, 1, …] so that they broadcast over axis 1.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? "", y = n.output
        let rank = b.shape(of: x)?.count ?? 4
        let shape = [channels] + [Int](repeating: 1, count: max(rank - 2, 0))
        let mid = b.fresh("\(y).scaled")
        b.node("Mul", "\(n.name).scale", [x, b.param(scale, shape: shape)], [mid])
        b.node("Add", n.name, [mid, b.param(shift, shape: shape)], [y])
    }
}
