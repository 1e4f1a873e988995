// Expand: broadcasts to a shape (ONNX Expand: numpy broadcasting both ways, so a 1 in `shape`
// keeps the input's dimension).
import CNNKernels

struct ExpandOp: TensorOpDefinition {
    let name = "Expand"
    let summary = "y = x broadcast with a tensor of shape `shape` (numpy rules, both ways)"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        let shape = try op.ints("shape")
        try TensorShapes.checkRank(shape, "target")
        guard shape.allSatisfy({ $0 >= 1 }) else { throw TensorOpError("shape \(shape) must hold sizes ≥ 1") }
        return [try TensorShapes.broadcast([operands[0], shape])]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let copy = BoxCopy(shape: outputs[0], source: TensorShapes.broadcastStrides(operands[0], to: outputs[0]))
        return { operands, outputs in copy.copy(from: operands[0], to: outputs[0]) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard let shape = try node.constantInts(1, "shape") else { throw TensorOpError("the shape input is required") }
        return TensorOp(
            kind: name, attributes: ["shape": .ints(shape)], operands: try node.operands([0], constantPrefix: "expand"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        ONNXNodeForm(opType: "Expand", inputs: [.operand(0), .ints(try op.ints("shape"))], minimumOpset: 8)
    }
}
