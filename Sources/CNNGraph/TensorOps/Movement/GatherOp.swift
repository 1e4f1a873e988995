// Gather: picks slices along one axis by constant indices of any rank (ONNX Gather; negative
// indices count from the end). The indices' shape replaces the axis in the output.
import CNNKernels

struct GatherOp: TensorOpDefinition {
    let name = "Gather"
    let summary = "y = x indexed along `axis` by the constant `indices` of shape `indices_shape` (default 1-D)"

    /// The axis, the indices' shape and the indices made non-negative.
    func resolved(_ op: TensorOp, _ x: [Int]) throws(TensorOpError) -> (axis: Int, shape: [Int], indices: [Int]) {
        let axis = try TensorShapes.axis(try op.int("axis", default: 0), rank: x.count)
        let indices = try op.ints("indices")
        let shape = try op.ints("indices_shape", default: [indices.count])
        guard shape.allSatisfy({ $0 >= 0 }), TensorShapes.count(shape) == indices.count else {
            throw TensorOpError("indices_shape \(shape) does not hold the \(indices.count) indices")
        }
        let d = x[axis]
        var out: [Int] = []
        out.reserveCapacity(indices.count)
        for i in indices {
            guard i >= -d, i < d else {
                throw TensorOpError("index \(i) is out of range for axis \(axis) of \(formatShape(x))")
            }
            out.append(i < 0 ? i + d : i)
        }
        return (axis, shape, out)
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        let x = operands[0]
        try TensorShapes.checkRank(x)
        guard !x.isEmpty else { throw TensorOpError("cannot gather from a scalar") }
        let r = try resolved(op, x)
        let out = Array(x[..<r.axis]) + r.shape + Array(x[(r.axis + 1)...])
        try TensorShapes.checkRank(out, "output")
        return [out]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0], r = try resolved(op, x)
        let outer = try Movement.count(Array(x[..<r.axis])), inner = try Movement.count(Array(x[(r.axis + 1)...]))
        let axis = x[r.axis], indices = r.indices
        return { operands, outputs in
            gatherRuns(operands[0], outputs[0], outer: outer, axis: axis, inner: inner, indices: indices)
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard case .constant(let c) = node.input(1) else {
            throw TensorOpError(
                node.input(1) == .absent
                    ? "the indices input is required"
                    : "the indices are computed at run time; only constant indices are supported")
        }
        guard let indices = try node.constantInts(1, "indices") else {
            throw TensorOpError("the indices input is required")
        }
        var attributes: [String: AttributeValue] = [
            "axis": .int(try node.int("axis", default: 0)), "indices": .ints(indices),
        ]
        if c.shape != [indices.count] { attributes["indices_shape"] = .ints(c.shape) }
        return TensorOp(kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "gather"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let indices = try op.ints("indices")
        let shape = try op.optionalInts("indices_shape") ?? [indices.count]
        return ONNXNodeForm(
            opType: "Gather", attributes: ["axis": .int(try op.int("axis", default: 0))],
            inputs: [.operand(0), .intTensor(shape: shape, values: indices)], minimumOpset: 13)
    }

    func describe(_ op: TensorOp) -> String {
        let indices = (try? op.ints("indices")) ?? []
        let shown = indices.count <= 8 ? AttributeValue.ints(indices).description : "\(indices.count) indices"
        return "axis \((try? op.int("axis", default: 0)) ?? 0), indices \(shown)"
            + ((try? op.optionalInts("indices_shape")).flatMap { $0 }.map { " of shape \(formatShape($0))" } ?? "")
    }
}
