// Concat: joins operands along one axis (ONNX Concat with any mix of run-time and constant float
// inputs; the built-in conversion keeps the all-run-time case).
import CNNKernels

struct ConcatOp: TensorOpDefinition {
    let name = "Concat"
    let summary = "y = the operands (run-time or constant) joined along `axis`"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard let first = operands.first else { throw TensorOpError("takes at least 1 operand") }
        try TensorShapes.checkRank(first)
        guard !first.isEmpty else { throw TensorOpError("cannot concatenate scalars") }
        let axis = try TensorShapes.axis(try op.int("axis"), rank: first.count)
        var out = first
        for s in operands.dropFirst() {
            guard s.count == first.count, s.indices.allSatisfy({ $0 == axis || s[$0] == first[$0] }) else {
                throw TensorOpError("cannot concatenate \(formatShape(first)) and \(formatShape(s)) along axis \(axis)")
            }
            out[axis] = try Movement.sum(out[axis], s[axis], "the concatenated axis")
        }
        return [out]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let y = outputs[0]
        let axis = try TensorShapes.axis(try op.int("axis"), rank: y.count)
        let outer = try Movement.count(Array(y[..<axis]))
        var runs: [Int] = []
        for s in operands { runs.append(try Movement.count(Array(s[axis...]))) }
        return { operands, outputs in concatRuns(operands, outputs[0], outer: outer, runs: runs) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        let present = node.inputs.indices.filter { node.inputs[$0] != .absent }
        guard let a = node.attributes["axis"], case .int(let axis) = a else {
            throw TensorOpError("attribute 'axis' is required")
        }
        return TensorOp(
            kind: name, attributes: ["axis": .int(axis)], operands: try node.operands(present, constantPrefix: "concat")
        )
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands("Concat", op, attributes: ["axis": .int(try op.int("axis"))], minimumOpset: 13)
    }
}
