// CastLike (ONNX 15): x cast to the element type of `target`. cnnconv values are floating point,
// so with a float target this is x unchanged; the target is an operand only for its type (the
// expanded forms of Elu, Selu, Gelu, … write CastLike(constant, x)). An integer target is refused.
import CNNKernels

struct CastLikeOp: TensorOpDefinition {
    let name = "CastLike"
    let summary = "y = x (operand 0) as the float type of operand 1, which is read only for its type"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 2 else { throw TensorOpError("takes 2 operands (x, target), has \(operands.count)") }
        try TensorShapes.checkRank(operands[0]); try TensorShapes.checkRank(operands[1], "target")
        return [operands[0]]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let count = TensorShapes.count(outputs[0]) ?? 0
        return { operands, outputs in outputs[0].update(from: operands[0], count: count) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard node.inputs.count == 2 else { throw TensorOpError("CastLike takes 2 inputs, has \(node.inputs.count)") }
        if case .constant(let c) = node.input(1), c.isInteger {
            throw TensorOpError(
                "a cast to the integer type of the target is not supported (cnnconv values are floating point)")
        }
        return TensorOp(kind: name, operands: try node.operands([0, 1], constantPrefix: "castlike"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands("CastLike", op, minimumOpset: 15)
    }
}
