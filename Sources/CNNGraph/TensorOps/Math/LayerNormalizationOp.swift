// LayerNormalization (ONNX, opset 17) with its optional Mean and InvStdDev outputs, or with a
// run-time Scale/B: the importer keeps the one-output, constant-parameter form as the built-in
// `layerNorm` node; this kind takes the rest. Normalizes over the axes from `axis` on; Scale
// and B broadcast to those axes. The statistics have the input's shape with those axes as 1.
import CNNKernels

struct LayerNormalizationOp: TensorOpDefinition {
    let name = "LayerNormalization"
    let summary =
        "y = (x − mean)/√(var + epsilon)·scale + b over the axes from `axis` on; `outputs` 2 or 3 adds the mean and 1/√(var + epsilon)"

    struct Geometry { var axis: Int, outer: Int, inner: Int, normalized: [Int], outputs: Int }

    static func geometry(_ op: TensorOp, _ operands: [[Int]]) throws(TensorOpError) -> Geometry {
        guard operands.count == 2 || operands.count == 3 else {
            throw TensorOpError("takes 2 or 3 operands (x, scale, bias), has \(operands.count)")
        }
        let x = operands[0]
        try TensorShapes.checkRank(x)
        let axis = try TensorShapes.axis(try op.int("axis", default: -1), rank: x.count)
        let normalized = Array(x[axis...])
        for (i, role) in [(1, "scale"), (2, "bias")] where i < operands.count {
            // Leading axes of size 1 beyond the normalized ones broadcast away (onnxruntime
            // accepts a scale broadcast to all of x that does not vary before `axis`).
            let own = parameterShape(operands[i], rank: normalized.count)
            guard own.count <= normalized.count, (try? TensorShapes.broadcast([normalized, own])) == normalized else {
                throw TensorOpError(
                    "the \(role) \(formatShape(operands[i])) does not broadcast to the normalized shape \(formatShape(normalized))"
                )
            }
        }
        let outputs = try op.int("outputs", default: 1)
        guard (1...3).contains(outputs) else {
            throw TensorOpError("attribute 'outputs' is \(outputs), must be 1, 2 or 3")
        }
        let epsilon = try op.float("epsilon", default: 1e-5)
        guard epsilon.isFinite, epsilon >= 0 else { throw TensorOpError("epsilon \(epsilon) must be finite and ≥ 0") }
        guard let outer = TensorShapes.count(Array(x[..<axis])), let inner = TensorShapes.count(normalized) else {
            throw TensorOpError("the input \(formatShape(x)) is too large")
        }
        return Geometry(axis: axis, outer: outer, inner: inner, normalized: normalized, outputs: outputs)
    }

    /// A Scale/B shape without the leading axes of size 1 beyond the `rank` normalized axes.
    static func parameterShape(_ shape: [Int], rank: Int) -> [Int] {
        var s = shape
        while s.count > rank, s.first == 1 { s.removeFirst() }
        return s
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        let g = try Self.geometry(op, operands)
        let x = operands[0]
        let statistics = Array(x[..<g.axis]) + [Int](repeating: 1, count: x.count - g.axis)
        return [x] + [[Int]](repeating: statistics, count: g.outputs - 1)
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        operands.first.flatMap { TensorShapes.count($0) } ?? 0
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let g = try Self.geometry(op, operands)
        let epsilon = try op.float("epsilon", default: 1e-5)
        func table(_ shape: [Int]) -> [Int] {
            var t: [Int] = []
            t.reserveCapacity(g.inner)
            TensorShapes.forEachOffset(
                g.normalized,
                TensorShapes.broadcastStrides(Self.parameterShape(shape, rank: g.normalized.count), to: g.normalized)
            ) { _, o in t.append(o) }
            return t
        }
        let scaleIndex = table(operands[1])
        let hasBias = operands.count == 3
        let biasIndex = hasBias ? table(operands[2]) : []
        let (outer, inner, count) = (g.outer, g.inner, g.outputs)
        return { operands, outputs in
            layerNorm(
                input: operands[0], output: outputs[0], outer: outer, inner: inner,
                scale: operands[1], scaleIndex: scaleIndex, bias: hasBias ? operands[2] : nil, biasIndex: biasIndex,
                epsilon: epsilon, mean: count > 1 ? outputs[1] : nil, invStdDev: count > 2 ? outputs[2] : nil)
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var positions = [0, 1]
        if node.input(2) != .absent { positions.append(2) }
        var attributes: [String: AttributeValue] = [
            "axis": .int(try node.int("axis", default: -1)),
            "epsilon": .float(try node.float("epsilon", default: 1e-5)),
        ]
        if node.outputCount > 1 { attributes["outputs"] = .int(node.outputCount) }
        if let stash = node.attributes["stash_type"] { attributes["stash_type"] = stash }
        return TensorOp(
            kind: name, attributes: attributes, operands: try node.operands(positions, constantPrefix: "layer_norm"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands(
            "LayerNormalization", op,
            attributes: op.attributes.filter { ["axis", "epsilon", "stash_type"].contains($0.key) }, minimumOpset: 17)
    }
}
