// Slice: a strided window along some axes (ONNX Slice; starts/ends/axes/steps attributes before
// opset 10, constant inputs from 10; negative indices count from the end, out-of-range ones
// clamp, a negative step walks backwards).
import CNNKernels

struct SliceOp: TensorOpDefinition {
    let name = "Slice"
    let summary = "y = x[starts:ends:steps] along `axes` (numpy slicing: negative indices from the end, clamped)"

    /// Per axis of `x`: the first index read, the step, and the count.
    func windows(_ op: TensorOp, _ x: [Int]) throws(TensorOpError) -> [(start: Int, step: Int, count: Int)] {
        let starts = try op.ints("starts"), ends = try op.ints("ends")
        let steps = try op.ints("steps", default: [Int](repeating: 1, count: starts.count))
        let given = try op.ints("axes", default: Array(0..<starts.count))
        guard ends.count == starts.count, given.count == starts.count, steps.count == starts.count else {
            throw TensorOpError(
                "starts, ends, axes and steps have \(starts.count), \(ends.count), \(given.count), \(steps.count) values; they must agree"
            )
        }
        _ = try TensorShapes.axes(given, rank: x.count)  // refuses a repeated axis
        var out = x.map { (start: 0, step: 1, count: $0) }
        for k in given.indices {
            let a = try TensorShapes.axis(given[k], rank: x.count)
            let d = x[a], step = steps[k]
            guard step != 0 else { throw TensorOpError("step \(k) is 0") }
            // Indices are clamped before any arithmetic that could overflow.
            func normalized(_ v: Int) -> Int {
                let c = max(-Movement.sentinel, min(Movement.sentinel, v))
                return c < 0 ? c + d : c
            }
            var s = normalized(starts[k]), e = normalized(ends[k])
            if step > 0 {
                s = max(0, min(d, s)); e = max(0, min(d, e))
            } else {
                s = max(0, min(d - 1, s)); e = max(-1, min(d - 1, e))
            }
            let n: Int
            if step > 0 {
                n = e > s ? (e - s - 1) / step + 1 : 0
            } else {
                n = s > e ? Int(UInt(s - e - 1) / step.magnitude) + 1 : 0
            }
            guard n > 0 else {
                throw TensorOpError("axis \(a) of \(formatShape(x)) sliced \(starts[k]):\(ends[k]):\(step) is empty")
            }
            out[a] = (s, step, n)
        }
        return out
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        try TensorShapes.checkRank(operands[0])
        return [try windows(op, operands[0]).map(\.count)]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0], w = try windows(op, x)
        let strides = TensorShapes.strides(x)
        let base = zip(w, strides).reduce(0) { $0 + $1.0.start * $1.1 }
        let copy = BoxCopy(shape: w.map(\.count), source: zip(w, strides).map { $0.step &* $1 })
        return { operands, outputs in copy.copy(from: operands[0] + base, to: outputs[0]) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var attributes: [String: AttributeValue] = [:]
        if node.opset < 10 {
            guard let starts = try node.ints("starts"), let ends = try node.ints("ends") else {
                throw TensorOpError("starts and ends are required")
            }
            attributes["starts"] = .ints(Movement.clamped(starts)); attributes["ends"] = .ints(Movement.clamped(ends))
            if let axes = try node.ints("axes") { attributes["axes"] = .ints(axes) }
        } else {
            guard let starts = try Movement.clampedInts(node, 1, "starts"),
                let ends = try Movement.clampedInts(node, 2, "ends")
            else {
                throw TensorOpError("the starts and ends inputs are required")
            }
            attributes["starts"] = .ints(starts); attributes["ends"] = .ints(ends)
            if let axes = try node.constantInts(3, "axes") { attributes["axes"] = .ints(axes) }
            if let steps = try Movement.clampedInts(node, 4, "steps") { attributes["steps"] = .ints(steps) }
        }
        return TensorOp(kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "slice"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let starts = try op.ints("starts")
        var inputs: [ONNXFormInput] = [.operand(0), .ints(starts), .ints(try op.ints("ends"))]
        inputs.append(.ints(try op.ints("axes", default: Array(0..<starts.count))))
        if let steps = try op.optionalInts("steps") { inputs.append(.ints(steps)) }
        return ONNXNodeForm(opType: "Slice", inputs: inputs, minimumOpset: 10)
    }
}
