// Clip with bounds computed at run time (ONNX Clip ≥ 11 whose min or max input is not a
// constant): y = min(max(x, lo), hi), so every element is hi when lo > hi. Constant bounds
// import as the built-in `Activation.clip`.
import CNNKernels

struct ClipOp: TensorOpDefinition {
    let name = "Clip"
    let summary = "y = min(max(x, min), max) with scalar bounds (operands after x, as `bounds` [has min, has max] says)"

    /// Whether the op has a min and a max operand.
    func bounds(_ op: TensorOp) throws(TensorOpError) -> (min: Bool, max: Bool) {
        let b = try op.ints("bounds")
        guard b.count == 2, b.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw TensorOpError("attribute 'bounds' is \(b); expected [has min, has max], each 0 or 1")
        }
        return (b[0] == 1, b[1] == 1)
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        let (hasMin, hasMax) = try bounds(op)
        let expected = 1 + (hasMin ? 1 : 0) + (hasMax ? 1 : 0)
        guard operands.count == expected else {
            throw TensorOpError(
                "takes \(expected) operands for bounds \(hasMin ? 1 : 0), \(hasMax ? 1 : 0); has \(operands.count)")
        }
        try TensorShapes.checkRank(operands[0])
        for s in operands.dropFirst() where TensorShapes.count(s) != 1 {
            throw TensorOpError("a bound has shape \(formatShape(s)); min and max must be scalars")
        }
        return [operands[0]]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let (hasMin, hasMax) = try bounds(op), count = TensorShapes.count(outputs[0]) ?? 0
        return { operands, outputs in
            let lo = hasMin ? operands[1][0] : -T.infinity, hi = hasMax ? operands[hasMin ? 2 : 1][0] : T.infinity
            activate(.clip(min: Double(lo), max: Double(hi)), input: operands[0], output: outputs[0], count: count)
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard node.opset >= 11 else { throw TensorOpError("Clip-\(node.opset) takes its bounds as attributes") }
        var positions = [0]
        let hasMin = node.input(1) != .absent, hasMax = node.input(2) != .absent
        if hasMin { positions.append(1) }
        if hasMax { positions.append(2) }
        return TensorOp(
            kind: name, attributes: ["bounds": .ints([hasMin ? 1 : 0, hasMax ? 1 : 0])],
            operands: try node.operands(positions, constantPrefix: "clip"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let (hasMin, hasMax) = try bounds(op)
        let inputs: [ONNXFormInput] = [
            .operand(0), hasMin ? .operand(1) : .absent, hasMax ? .operand(hasMin ? 2 : 1) : .absent,
        ]
        return ONNXNodeForm(opType: "Clip", inputs: inputs, minimumOpset: 13)
    }

    func describe(_ op: TensorOp) -> String {
        guard let (hasMin, hasMax) = try? bounds(op) else { return "" }
        return [hasMin ? "min" : nil, hasMax ? "max" : nil].compactMap { $0 }.joined(separator: " and ")
            + " at run time"
    }
}
