// Transpose: permutes the axes (ONNX Transpose; the default reverses them).
import CNNKernels

struct TransposeOp: TensorOpDefinition {
    let name = "Transpose"
    let summary = "y = x with its axes permuted by `perm` (default: reversed)"

    func permutation(_ op: TensorOp, rank: Int) throws(TensorOpError) -> [Int] {
        let perm = try op.ints("perm", default: Array((0..<rank).reversed()))
        guard perm.count == rank, perm.sorted() == Array(0..<rank) else {
            throw TensorOpError("perm \(perm) is not a permutation of the \(rank) axes")
        }
        return perm
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 1 else { throw TensorOpError("takes 1 operand, has \(operands.count)") }
        let x = operands[0]
        try TensorShapes.checkRank(x)
        return [try permutation(op, rank: x.count).map { x[$0] }]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0], perm = try permutation(op, rank: x.count)
        let source = TensorShapes.strides(x)
        let readStrides = perm.map { source[$0] }
        // Axes that stay in order at the end (e.g. the last one) are copied as whole runs.
        let copy = BoxCopy(shape: outputs[0], source: readStrides)
        return { operands, outputs in copy.copy(from: operands[0], to: outputs[0]) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var attributes: [String: AttributeValue] = [:]
        if let perm = try node.ints("perm") { attributes["perm"] = .ints(perm) }
        return TensorOp(
            kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "transpose"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands("Transpose", op, attributes: op.attributes.filter { $0.key == "perm" })
    }
}
