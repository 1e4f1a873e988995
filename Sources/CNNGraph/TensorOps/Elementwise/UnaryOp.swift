// Unary element-wise kinds (Sqrt, Exp, Log, Abs, Neg, Reciprocal, Erf here; Softplus, Mish,
// Gelu, Elu, Selu, Celu, Softsign, Shrink in Activations): one definition parameterized by the
// kernel function and the ONNX attributes it reads.
import CNNKernels

struct UnaryOp: TensorOpDefinition {
    let name: String
    let summary: String
    /// The ONNX attributes the kind keeps, with their defaults (floats or strings).
    var parameters: [String: AttributeValue] = [:]
    /// The first default-domain opset that has the op (Gelu: 20).
    var minimumOpset = 13
    /// The kernel function for the op's attributes; refuses bad values.
    let function: @Sendable (TensorOp) throws(TensorOpError) -> UnaryFunction

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 1 else { throw TensorOpError("takes 1 operand, has \(operands.count)") }
        try TensorShapes.checkRank(operands[0])
        for key in op.attributes.keys where parameters[key] == nil { throw TensorOpError("has no attribute '\(key)'") }
        _ = try function(op)
        return [operands[0]]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let f = try function(op), count = TensorShapes.count(outputs[0]) ?? 0
        return { operands, outputs in applyUnary(f, input: operands[0], output: outputs[0], count: count) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var attributes: [String: AttributeValue] = [:]
        for (key, value) in parameters {
            switch value {
            case .string:
                if node.attributes[key] != nil { attributes[key] = .string(try node.string(key, default: "")) }
            default: if node.attributes[key] != nil { attributes[key] = .float(try node.float(key, default: 0)) }
            }
        }
        let op = TensorOp(
            kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: name.lowercased()))
        _ = try function(op)
        return op
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands(name, op, attributes: op.attributes, minimumOpset: minimumOpset)
    }
}

extension UnaryOp {
    /// A kind with no attributes.
    init(_ name: String, _ summary: String, _ f: UnaryFunction) {
        self.init(name: name, summary: summary, function: { _ in f })
    }

    /// A finite float attribute (Elu's alpha, Selu's gamma); `positive` also refuses ≤ 0.
    static func parameter(_ op: TensorOp, _ key: String, _ defaults: [String: AttributeValue], positive: Bool = false)
        throws(TensorOpError) -> Double
    {
        guard case .float(let d)? = defaults[key] else { throw TensorOpError("attribute '\(key)' has no default") }
        let v = try op.float(key, default: d)
        guard v.isFinite, !positive || v > 0 else {
            throw TensorOpError("attribute '\(key)' is \(v), must be finite\(positive ? " and positive" : "")")
        }
        return v
    }
}
