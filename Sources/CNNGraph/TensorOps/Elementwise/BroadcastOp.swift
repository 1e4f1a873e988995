// Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean: element-wise arithmetic with numpy broadcasting
// between any mix of run-time values and constants (ONNX opset ≥ 7 semantics; Max/Min/Sum/Mean
// take 1…N operands). One definition, parameterized by the function, serves all nine kinds.
import CNNKernels

struct BroadcastOp: TensorOpDefinition {
    let name: String
    let summary: String
    let function: BinaryFunction
    /// Takes 1…N operands (Max, Min, Sum, Mean) rather than exactly 2.
    var variadic = false
    /// Divides the sum by the operand count (Mean).
    var mean = false

    /// The most operands a variadic kind takes (an ONNX Sum of thousands of inputs is hostile).
    static let maxOperands = 1024

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        if variadic {
            guard (1...Self.maxOperands).contains(operands.count) else {
                throw TensorOpError("takes 1 to \(Self.maxOperands) operands, has \(operands.count)")
            }
        } else {
            guard operands.count == 2 else { throw TensorOpError("takes 2 operands, has \(operands.count)") }
        }
        for s in operands { try TensorShapes.checkRank(s) }
        let out = try TensorShapes.broadcast(operands)
        guard TensorShapes.count(out) != nil else {
            throw TensorOpError("the broadcast shape \(formatShape(out)) overflows")
        }
        return [out]
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        function == .mul ? (TensorShapes.count(outputs.first ?? []) ?? 0) : 0
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let out = outputs[0], count = TensorShapes.count(out) ?? 0
        let function = function, mean = mean
        func plan(_ a: [Int], _ b: [Int]) throws(TensorOpError) -> BroadcastPlan {
            do { return try BroadcastPlan(a: a, b: b, output: out) } catch { throw TensorOpError(error.description) }
        }
        if operands.count == 1 {
            let copy = try plan(operands[0], operands[0])
            return { operands, outputs in broadcastCopy(copy, operands[0], output: outputs[0]) }
        }
        // The first two operands into the output, then each further one into it.
        let first = try plan(operands[0], operands[1])
        var rest: [BroadcastPlan] = []
        for s in operands.dropFirst(2) { rest.append(try plan(out, s)) }
        let scale = 1 / Double(operands.count)
        return { operands, outputs in
            let y = outputs[0]
            broadcastBinary(function, first, operands[0], operands[1], output: y)
            for (k, p) in rest.enumerated() {
                broadcastBinary(function, p, UnsafePointer(y), operands[k + 2], output: y)
            }
            if mean { CNNKernels.scale(input: y, output: y, count: count, by: scale) }
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        // Before opset 7 the binary ops broadcast only with `broadcast=1`, aligned at `axis`;
        // without `axis` that is numpy's trailing alignment, which is what we compute.
        if node.opset < 7, node.attributes["axis"] != nil, try node.int("broadcast", default: 0) != 0 {
            throw TensorOpError(
                "legacy broadcasting along 'axis' (opset \(node.opset)) is not supported; re-export the model at opset 7 or later"
            )
        }
        let positions = Array(node.inputs.indices)
        if variadic {
            guard !positions.isEmpty else { throw TensorOpError("\(node.opType) has no inputs") }
        } else {
            guard positions.count == 2 else {
                throw TensorOpError("\(node.opType) takes 2 inputs, has \(positions.count)")
            }
        }
        return TensorOp(kind: name, operands: try node.operands(positions, constantPrefix: name.lowercased()))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands(name, op)
    }

    func describe(_ op: TensorOp) -> String {
        op.constants.map { "constant \($0.tensor.shape)" }.joined(separator: ", ")
    }
}
