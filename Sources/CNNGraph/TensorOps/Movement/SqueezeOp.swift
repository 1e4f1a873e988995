// Squeeze and Unsqueeze: remove or insert size-1 axes (ONNX Squeeze/Unsqueeze; `axes` an
// attribute before opset 13, a constant input from 13).
import CNNKernels

struct SqueezeOp: TensorOpDefinition {
    let name = "Squeeze"
    let summary = "y = x without its size-1 axes `axes` (all size-1 axes when absent)"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        let x = operands[0]
        try TensorShapes.checkRank(x)
        guard let given = try op.optionalInts("axes") else { return [x.filter { $0 != 1 }] }
        let axes = try TensorShapes.axes(given, rank: x.count)
        for a in axes where x[a] != 1 {
            throw TensorOpError("cannot squeeze axis \(a) of \(formatShape(x)): its size is \(x[a])")
        }
        return [x.enumerated().filter { !axes.contains($0.offset) }.map(\.element)]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        Movement.copyKernel(count: try Movement.count(operands[0]))
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var attributes: [String: AttributeValue] = [:]
        if let axes = try Movement.axes(node, inputOpset: 13, index: 1) {
            attributes["axes"] = .ints(axes)
        } else if case .value(let x) = node.input(0) {
            // "Every size-1 axis" depends on the shape: fix the axes at the import shape.
            attributes["axes"] = .ints(x.indices.filter { x[$0] == 1 })
        }
        return TensorOp(kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "squeeze"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        guard let axes = try op.optionalInts("axes") else { return .operands("Squeeze", op) }
        // An empty axes input would mean "every size-1 axis" to ONNX.
        if axes.isEmpty { return .operands("Identity", op) }
        return ONNXNodeForm(opType: "Squeeze", inputs: [.operand(0), .ints(axes)])
    }

    func describe(_ op: TensorOp) -> String {
        (try? op.optionalInts("axes")).flatMap { $0 }.map { "axes \(AttributeValue.ints($0))" } ?? "every size-1 axis"
    }
}

struct UnsqueezeOp: TensorOpDefinition {
    let name = "Unsqueeze"
    let summary = "y = x with size-1 axes inserted at `axes` (positions in the output)"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        let x = operands[0]
        try TensorShapes.checkRank(x)
        let given = try op.ints("axes")
        let rank = x.count + given.count
        guard rank <= TensorOps.maxRank else {
            throw TensorOpError("the result would have rank \(rank); at most \(TensorOps.maxRank) is supported")
        }
        let axes = try TensorShapes.axes(given, rank: rank)
        var out = x
        for a in axes { out.insert(1, at: a) }
        return [out]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        Movement.copyKernel(count: try Movement.count(operands[0]))
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard let axes = try Movement.axes(node, inputOpset: 13, index: 1) else {
            throw TensorOpError("axes are required")
        }
        return TensorOp(
            kind: name, attributes: ["axes": .ints(axes)], operands: try node.operands([0], constantPrefix: "unsqueeze")
        )
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        ONNXNodeForm(opType: "Unsqueeze", inputs: [.operand(0), .ints(try op.ints("axes"))])
    }

    func describe(_ op: TensorOp) -> String {
        "axes \((try? op.ints("axes")).map { AttributeValue.ints($0).description } ?? "?")"
    }
}
