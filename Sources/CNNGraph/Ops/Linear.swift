// Linear: y = x·Wᵀ + b over the last axis (fully connected layers, Gemm/MatMul with a constant
// weight). Its kernel is CNNKernels' linear, bound in CNNRuntime/Plan.swift; BatchNorm and
// dropout fold into its weights.
import CNNFormat

/// A fully connected layer over the last axis; it holds its parameters by value so that folds
/// rewrite one node's weights alone.
public struct Linear: Sendable, Equatable {
    /// [outFeatures, inFeatures]
    public var weight: Tensor
    /// [outFeatures]; nil when the layer has none.
    public var bias: Tensor?
    /// How `weight` becomes the weight used; nil for a plain weight.
    public var reparameterization: WeightReparameterization?
    /// Defaults are PyTorch's `nn.Linear` ones (no bias given means none).
    public init(weight: Tensor, bias: Tensor? = nil, reparameterization: WeightReparameterization? = nil) {
        self.weight = weight; self.bias = bias; self.reparameterization = reparameterization
    }
    /// Read from the weight, never stored twice.
    public var outFeatures: Int { weight.shape[0] }
    /// 0 for a malformed 1-D weight, which shape inference refuses by name.
    public var inFeatures: Int { weight.shape.count > 1 ? weight.shape[1] : 0 }
}

extension Linear: ReparameterizedWeightParameters {
    package var op: Op { .linear(self) }
    package var kindName: String { "Linear" }
    package static var kindNames: [String] { ["Linear"] }
    package static var formatFields: [String] { ["linear"] }
    package static var summary: String {
        "y = x·Wᵀ + b over the last axis, optionally weight-normalized or standardized"
    }
    package static var onnxImportTypes: [String] { ["Gemm", "MatMul"] }
    package static var onnxExportTypes: [String] { ["Gemm", "MatMul", "Add"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        let l = self
        try node.expectInputs(ins, 1)
        let x = ins[0]
        guard l.weight.shape.count == 2 else {
            throw node.fail("weight '\(l.weight.name)' is \(formatShape(l.weight.shape)), expected [out, in]")
        }
        guard x.count >= 2, x.last == l.inFeatures else {
            throw node.fail(
                "input \(formatShape(x)) does not end in the \(l.inFeatures) features weight '\(l.weight.name)' takes")
        }
        try node.expectCount(l.bias, l.outFeatures, "bias")
        try node.checkReparameterization(l.reparameterization, outChannels: l.outFeatures)
        return Array(x.dropLast()) + [l.outFeatures]
    }

    package func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int {
        saturatingProduct(outputShape).multiplied(saturating: inFeatures)
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        var s = "\(inFeatures)→\(outFeatures)" + (bias == nil ? " no-bias" : "")
        if reparameterization != nil { s += " reparam" }
        return s
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Linear()
        o.weight = try e.ref(weight); o.bias = try e.ref(bias)
        if let r = try e.reparameterization(reparameterization) { o.reparameterization = r }
        n.linear = o
    }

    static func decode(_ l: Cnnconv_V1_Linear, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .linear(
            Linear(
                weight: try d.tensor(l.weight, node: name, role: "weight"),
                bias: try d.optionalTensor(l.bias, node: name, role: "bias"),
                reparameterization: try d.reparameterization(l.hasReparameterization, l.reparameterization, node: name))
        )
    }

    /// Gemm on 2-D input (the common classifier head); on higher ranks, where Gemm is not defined,
    /// MatMul by the transposed weight, then Add for the bias.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? "", y = n.output
        let rank = b.shape(of: x)?.count ?? 4
        let w = WeightReparameterization.effectiveWeight(weight, reparameterization).map { Float($0) }
        if rank == 2 {
            var ins = [
                x, b.initializer(weight.name, shape: weight.shape, floats: w, shared: reparameterization == nil),
            ]
            if let bias { ins.append(b.param(bias, shape: [bias.count])) }
            b.node("Gemm", n.name, ins, [y], attributes: [("transB", .int(1))])
        } else {
            let (out, inF) = (outFeatures, inFeatures)
            let transposed = (0..<(out * inF)).map { w[($0 % out) * inF + $0 / out] }
            let wt = b.initializer(weight.name, shape: [inF, out], floats: transposed)
            if let bias {
                let mid = b.fresh("\(y).matmul")
                b.node("MatMul", "\(n.name).matmul", [x, wt], [mid])
                b.node("Add", n.name, [mid, b.param(bias, shape: [bias.count])], [y])
            } else {
                b.node("MatMul", n.name, [x, wt], [y])
            }
        }
    }
}
