// Shape inference from the declared input shapes, checking every attribute and parameter shape.

/// Concrete shapes of every value, by name.
public typealias ShapeMap = [String: [Int]]

/// Shapes in messages and tables, written the same way everywhere ("1×3×224×224").
public func formatShape(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "×") }

extension Graph {
    /// Shapes of every value with symbolic dimensions set to `batch`. Assumes
    /// `validateStructure()` passed (it throws on any value it cannot find). Every value must
    /// have dimensions ≥ 1 and at most `limits.maxElementsPerValue` elements.
    public func inferShapes(batch: Int = 1, limits: SizeLimits = .standard) throws(GraphError) -> ShapeMap {
        var shapes: ShapeMap = [:]
        for input in inputs {
            let s = input.concreteShape(batch: batch)
            guard s.allSatisfy({ $0 > 0 }) else {
                throw .shapeMismatch(node: input.name, message: "input shape \(input.shape) has a dimension ≤ 0")
            }
            try Self.checkSize(s, of: input.name, what: "graph input", limits: limits)
            shapes[input.name] = s
        }
        for node in nodes {
            var inputShapes: [[Int]] = []
            for name in node.inputs {
                guard let s = shapes[name] else { throw .missingValue(node: node.name, value: name) }
                inputShapes.append(s)
            }
            let outs = try node.inferOutputShapes(inputShapes)
            for (o, out) in zip(node.outputs, outs) {
                guard out.allSatisfy({ $0 > 0 }) else {
                    throw node.fail("the output '\(o)' \(formatShape(out)) would be empty")
                }
                try Self.checkSize(out, of: node.name, what: "output", limits: limits)
                shapes[o] = out
            }
        }
        for output in outputs {
            guard let inferred = shapes[output.name] else { throw .missingOutput(output.name) }
            let declared = output.shape
            let agrees =
                declared.isEmpty
                || (declared.count == inferred.count
                    && zip(declared, inferred).allSatisfy {
                        if case .fixed(let n) = $0.0 { return n == $0.1 } else { return true }
                    })
            guard agrees else {
                throw .shapeMismatch(
                    node: output.name,
                    message:
                        "graph output is declared \(declared.map(\.description).joined(separator: "×")) but computes to \(formatShape(inferred))"
                )
            }
        }
        return shapes
    }

    /// Refuses a value of more elements than `limits` allow (or than an `Int` counts).
    static func checkSize(_ shape: [Int], of name: String, what: String, limits: SizeLimits) throws(GraphError) {
        let limit = limits.maxElementsPerValue
        guard let n = checkedElementCount(shape) else {
            throw .tooLarge(
                node: name,
                message:
                    "its \(what) \(formatShape(shape)) has more elements than a 64-bit count holds (the limit is \(limit))"
            )
        }
        guard n <= limit else {
            throw .tooLarge(
                node: name,
                message:
                    "its \(what) \(formatShape(shape)) has \(n) elements (\(formatBytes(n.multiplied(saturating: 4))) as f32), "
                    + "more than the limit of \(limit) (\(limits) of activations; raise it with --max-memory or \(SizeLimits.environmentVariable))"
            )
        }
    }
}

extension Node {
    func fail(_ message: String) -> GraphError { .shapeMismatch(node: name, message: message) }
    func bad(_ message: String) -> GraphError { .invalidAttribute(node: name, message: message) }

    func expectInputs(_ shapes: [[Int]], _ count: Int) throws(GraphError) {
        guard shapes.count == count else {
            throw .wrongInputCount(node: name, op: op.kindName, expected: String(count), found: shapes.count)
        }
    }

    func expectCount(_ t: Tensor?, _ n: Int, _ what: String) throws(GraphError) {
        if let t, t.count != n {
            throw .badParameter(node: name, tensor: t.name, message: "\(what) has \(t.count) values, expected \(n)")
        }
    }

    func normalizedAxis(_ axis: Int, rank: Int, allowRank: Bool = false) throws(GraphError) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank || (allowRank && a == rank) else {
            throw bad("axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }

    /// The checks a convolution's shape rule (forward or transposed) starts with: one NCHW input,
    /// a 4-D weight (laid out as `layout` says) whose last two sizes are the window's kernel, and a
    /// valid window. Returns the input's shape.
    func checkConvolution(_ ins: [[Int]], _ opName: String, weight: Tensor, layout: String, window: Window2d)
        throws(GraphError) -> [Int]
    {
        try expectInputs(ins, 1)
        let x = ins[0]
        guard x.count == 4 else { throw fail("\(opName) takes NCHW input, got \(formatShape(x))") }
        guard weight.shape.count == 4 else {
            throw fail("weight '\(weight.name)' is \(formatShape(weight.shape)), expected 4-D \(layout)")
        }
        try checkWindow(window)
        guard weight.shape[2] == window.kernelH, weight.shape[3] == window.kernelW else {
            throw fail(
                "kernel is \(window.kernelH)×\(window.kernelW) but weight '\(weight.name)' is \(formatShape(weight.shape))"
            )
        }
        return x
    }

    func checkWindow(_ w: Window2d) throws(GraphError) {
        guard w.kernelH >= 1, w.kernelW >= 1, w.strideH >= 1, w.strideW >= 1, w.dilationH >= 1, w.dilationW >= 1,
            w.padTop >= 0, w.padLeft >= 0, w.padBottom >= 0, w.padRight >= 0
        else {
            throw bad(
                "kernel, stride and dilation must be ≥ 1 and padding ≥ 0 (kernel \(w.kernelH)×\(w.kernelW), stride \(w.strideH)×\(w.strideW), dilation \(w.dilationH)×\(w.dilationW))"
            )
        }
    }

    func checkEpsilon(_ eps: Double) throws(GraphError) {
        guard eps >= 0, eps.isFinite else { throw bad("epsilon is \(eps), must be finite and ≥ 0") }
    }

    /// The shape of every output of this node for the given input shapes. A tensor op gives one
    /// shape per output and must have as many outputs as its definition makes; the other ops
    /// give one shape that every output carries (extra outputs alias the first).
    public func inferOutputShapes(_ ins: [[Int]]) throws(GraphError) -> [[Int]] {
        guard case .tensor(let t) = op else {
            let out = try inferOutputShape(ins)
            return outputs.map { _ in out }
        }
        guard let definition = t.definition else {
            throw .invalidAttribute(node: name, message: "op kind '\(t.kind)' is not one this build knows")
        }
        guard ins.count == t.inputCount else {
            throw .wrongInputCount(node: name, op: t.kind, expected: String(t.inputCount), found: ins.count)
        }
        let outs: [[Int]]
        do { outs = try definition.outputShapes(t, operands: t.operandShapes(ins)) } catch {
            throw .shapeMismatch(node: name, message: "\(t.kind): \(error.message)")
        }
        guard outs.count == outputs.count else {
            throw .shapeMismatch(
                node: name, message: "\(t.kind) makes \(outs.count) outputs, the node names \(outputs.count)")
        }
        return outs
    }

    /// The output shape of this node for the given input shapes; checks attributes and
    /// parameter shapes against them. For a tensor op, its first output's shape.
    public func inferOutputShape(_ ins: [[Int]]) throws(GraphError) -> [Int] {
        try op.definition.outputShape(of: self, inputs: ins)
    }
}
