// Reshape: the same elements under another shape (ONNX Reshape; 0 copies the input's dimension
// unless `allowzero`, −1 takes what is left).
import CNNKernels

struct ReshapeOp: TensorOpDefinition {
    let name = "Reshape"
    let summary =
        "y = x's elements in row-major order under the shape `shape` (0 copies x's dimension unless `allowzero`, −1 infers one)"

    /// The target for input `x`.
    static func target(_ spec: [Int], input x: [Int], allowZero: Bool) throws(TensorOpError) -> [Int] {
        try TensorShapes.checkRank(spec, "target")
        var out: [Int] = []
        var infer: Int? = nil
        var known = 1
        for (i, d) in spec.enumerated() {
            var v = d
            if d == 0 && !allowZero {
                guard i < x.count else {
                    throw TensorOpError("shape \(spec) copies dimension \(i), which the \(x.count)-D input lacks")
                }
                v = x[i]
            } else if d == -1 {
                guard infer == nil else { throw TensorOpError("shape \(spec) has more than one −1") }
                infer = i
                out.append(1)
                continue
            } else if d < 0 {
                throw TensorOpError("shape \(spec) has the negative dimension \(d)")
            }
            known = try Movement.product(known, v, "the shape \(spec)")
            out.append(v)
        }
        let total = try Movement.count(x)
        if let infer {
            guard known > 0, total % known == 0 else {
                throw TensorOpError("cannot infer the −1 of \(spec) for \(formatShape(x)) (\(total) elements)")
            }
            out[infer] = total / known
        } else {
            guard known == total else {
                throw TensorOpError(
                    "cannot reshape \(formatShape(x)) (\(total) elements) to \(spec) (\(known) elements)")
            }
        }
        return out
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        try TensorShapes.checkRank(operands[0])
        return [
            try Self.target(
                try op.ints("shape"), input: operands[0], allowZero: try op.int("allowzero", default: 0) != 0)
        ]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        Movement.copyKernel(count: try Movement.count(operands[0]))
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard let shape = try node.constantInts(1, "shape") else { throw TensorOpError("the shape input is required") }
        var attributes: [String: AttributeValue] = ["shape": .ints(shape)]
        if node.opset >= 14, try node.int("allowzero", default: 0) != 0 { attributes["allowzero"] = .int(1) }
        return TensorOp(kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "reshape"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let allowZero = try op.int("allowzero", default: 0) != 0
        return ONNXNodeForm(
            opType: "Reshape", attributes: allowZero ? ["allowzero": .int(1)] : [:],
            inputs: [.operand(0), .ints(try op.ints("shape"))], minimumOpset: allowZero ? 14 : 13)
    }

    func describe(_ op: TensorOp) -> String {
        "shape \((try? op.ints("shape")).map { AttributeValue.ints($0).description } ?? "?")"
            + ((try? op.int("allowzero", default: 0)) == 1 ? ", allowzero" : "")
    }
}
