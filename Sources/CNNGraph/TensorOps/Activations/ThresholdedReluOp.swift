// ThresholdedRelu: y = x where x > alpha, else 0 (ONNX ThresholdedRelu, opset 10).
import CNNKernels

struct ThresholdedReluOp: TensorOpDefinition {
    let name = "ThresholdedRelu"
    let summary = "y = x where x > alpha, else 0 (`alpha` default 1.0)"

    /// The threshold; a NaN would silently zero every value, so a file holding one is refused.
    func alpha(_ op: TensorOp) throws(TensorOpError) -> Double {
        let alpha = try op.float("alpha", default: 1)
        guard alpha.isFinite else { throw TensorOpError("alpha is \(alpha), must be finite") }
        return alpha
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 1 else { throw TensorOpError("takes 1 operand, has \(operands.count)") }
        try TensorShapes.checkRank(operands[0])
        _ = try alpha(op)
        return [operands[0]]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let threshold = T(try alpha(op)), count = outputs[0].reduce(1, *)
        return { operands, outputs in
            let x = operands[0], y = outputs[0]
            for i in 0..<count {
                let v = x[i]
                y[i] = v > threshold ? v : 0
            }
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        TensorOp(
            kind: name, attributes: ["alpha": .float(try node.float("alpha", default: 1))],
            operands: try node.operands([0], constantPrefix: "thresholded_relu"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands("ThresholdedRelu", op, attributes: ["alpha": .float(try alpha(op))], minimumOpset: 10)
    }
}
