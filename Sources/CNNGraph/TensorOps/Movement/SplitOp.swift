// Split: consecutive parts along one axis, one output each (ONNX Split; sizes from the `split`
// attribute before opset 13, the split input from 13, `num_outputs` from 18, else equal parts).
import CNNKernels

struct SplitOp: TensorOpDefinition {
    let name = "Split"
    let summary = "y_k = consecutive parts of x along `axis` of sizes `split` (one output per part)"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        let x = operands[0]
        try TensorShapes.checkRank(x)
        let axis = try TensorShapes.axis(try op.int("axis", default: 0), rank: x.count)
        let split = try op.ints("split")
        guard !split.isEmpty, split.allSatisfy({ $0 >= 1 }) else {
            throw TensorOpError("split \(split) must hold sizes ≥ 1")
        }
        var total = 0
        for s in split { total = try Movement.sum(total, s, "the split sizes") }
        guard total == x[axis] else {
            throw TensorOpError("split \(split) sums to \(total), but axis \(axis) of \(formatShape(x)) is \(x[axis])")
        }
        return split.map {
            var s = x; s[axis] = $0; return s
        }
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0]
        let axis = try TensorShapes.axis(try op.int("axis", default: 0), rank: x.count)
        let strides = TensorShapes.strides(x)
        var offsets: [Int] = [], copies: [BoxCopy] = []
        var at = 0
        for shape in outputs {
            offsets.append(at * strides[axis])
            copies.append(BoxCopy(shape: shape, source: strides))
            at += shape[axis]
        }
        return { operands, outputs in
            for k in copies.indices { copies[k].copy(from: operands[0] + offsets[k], to: outputs[k]) }
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard case .value(let x) = node.input(0) else { throw TensorOpError("the input must be a run-time value") }
        let a = try node.int("axis", default: 0)
        let axis = try TensorShapes.axis(a, rank: x.count)
        var split: [Int]
        if let given = node.opset < 13 ? try node.ints("split") : try node.constantInts(1, "split") {
            split = given
        } else if node.opset >= 18, node.attributes["num_outputs"] != nil {
            let n = try node.int("num_outputs", default: 0)
            guard n >= 1, n == node.outputCount else {
                throw TensorOpError("num_outputs is \(n), the node has \(node.outputCount) outputs")
            }
            // Parts of ceil(d / n), the last one smaller.
            let part = (x[axis] + n - 1) / n
            split = (0..<n).map { min(part, x[axis] - $0 * part) }
        } else {
            let n = node.outputCount
            guard n >= 1, x[axis] % n == 0 else {
                throw TensorOpError("axis \(axis) of \(formatShape(x)) does not split into \(n) equal parts")
            }
            split = [Int](repeating: x[axis] / n, count: n)
        }
        return TensorOp(
            kind: name, attributes: ["axis": .int(a), "split": .ints(split)],
            operands: try node.operands([0], constantPrefix: "split"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        ONNXNodeForm(
            opType: "Split", attributes: ["axis": .int(try op.int("axis", default: 0))],
            inputs: [.operand(0), .ints(try op.ints("split"))])
    }
}
