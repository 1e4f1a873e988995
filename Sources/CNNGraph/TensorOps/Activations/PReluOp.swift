// PRelu: y = x if x ≥ 0, else slope · x, the slope (constant or run-time) broadcast to x's shape
// (ONNX's unidirectional broadcasting: the output always has x's shape).
import CNNKernels

struct PReluOp: TensorOpDefinition {
    let name = "PRelu"
    let summary = "y = x if x ≥ 0, else slope · x (slope broadcast to x's shape)"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 2 else { throw TensorOpError("takes 2 operands (x, slope), has \(operands.count)") }
        let x = operands[0], slope = operands[1]
        try TensorShapes.checkRank(x); try TensorShapes.checkRank(slope, "slope")
        guard slope.count <= x.count, try TensorShapes.broadcast([x, slope]) == x else {
            throw TensorOpError("the slope \(formatShape(slope)) does not broadcast to the input \(formatShape(x))")
        }
        return [x]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let plan: BroadcastPlan
        do { plan = try BroadcastPlan(a: operands[0], b: operands[1], output: outputs[0]) } catch {
            throw TensorOpError(error.description)
        }
        return { operands, outputs in broadcastBinary(.prelu, plan, operands[0], operands[1], output: outputs[0]) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        TensorOp(kind: name, operands: try node.operands([0, 1], constantPrefix: "prelu"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands("PRelu", op)
    }

    func describe(_ op: TensorOp) -> String {
        op.constants.map { "slope \($0.tensor.shape)" }.joined()
    }
}
