// ONNX → tensor ops: the nodes the built-in conversions do not take (a Reshape that is not a
// flatten, Sub of two run-time values, Slice, MatMul of activations, …) go to the tensor-op
// definition registered for their op type; the shape-level IR the built-ins leave over
// (reshape, transpose, pad, binary with a constant) becomes tensor ops too.
import CNNGraph

extension ConvertNode {
    /// Runs the built-in conversion; when it refuses the node and a tensor-op definition takes
    /// this op type, converts through the definition instead.
    func convert() throws(ONNXError) {
        let before = importer.nodes.count
        do {
            try convertBuiltIn()
        } catch {
            guard let definition = TensorOps.definition(onnxType: op), importer.nodes.count == before else {
                throw error
            }
            switch error {
            case .unsupportedUsage, .unsupportedOp, .badAttribute: break
            default: throw error
            }
            do { try convertTensorOp(definition) } catch let generic {
                // Both refused: the general definition's reason is the one that applies to any use.
                importer.note("\(op) '\(name)': the specialised import said: \(error.description)")
                throw generic
            }
        }
    }

    /// The node as a tensor-op definition sees it.
    func view() throws(ONNXError) -> ONNXNodeView {
        var inputs: [ONNXInput] = []
        for (i, v) in node.input.enumerated() {
            if v.isEmpty { inputs.append(.absent); continue }
            if let c = importer.consts[v] {
                inputs.append(.constant(ONNXConstant(shape: c.shape, values: c.doubles, isInteger: !c.isFloat)))
            } else if let s = importer.shapes[v] {
                inputs.append(.value(shape: s))
            } else {
                _ = i
                throw .missingValue(node: name, opType: op, value: v)
            }
        }
        var outputs = node.output
        while outputs.last == "" { outputs.removeLast() }
        return ONNXNodeView(
            opType: op, opset: opset, attributes: try attrs.neutral(), inputs: inputs, outputCount: outputs.count)
    }

    func convertTensorOp(_ definition: any TensorOpDefinition) throws(ONNXError) {
        let view = try view()
        var t: TensorOp
        do { t = try definition.importONNX(view) } catch { throw fail(error.message) }
        // Constant operands become graph tensors named by the importer's rules.
        for i in t.operands.indices {
            if case .constant(let c) = t.operands[i] {
                let onnx = ConstTensor(shape: c.shape, floats: c.array)
                t.operands[i] = .constant(tensor(onnx, "operand\(i)"))
            }
        }
        // Run-time operands: the node's inputs that are values, in order.
        let runtime = node.input.filter { !$0.isEmpty && importer.consts[$0] == nil && importer.shapes[$0] != nil }
        guard runtime.count == t.inputCount else {
            throw fail(
                "the \(definition.name) definition reads \(t.inputCount) run-time inputs, the node has \(runtime.count)"
            )
        }
        var outputs = node.output
        while outputs.last == "" { outputs.removeLast() }
        guard !outputs.isEmpty else { throw fail("the node names no output") }
        // An omitted output before a named one (LSTM's Y when only Y_h is read) gets a name of
        // its own that no value has.
        for i in outputs.indices where outputs[i].isEmpty {
            var unused = "\(name).output\(i)", k = 1
            while importer.shapes[unused] != nil || importer.consts[unused] != nil {
                unused = "\(name).output\(i)_\(k)"; k += 1
            }
            outputs[i] = unused
        }
        try importer.emitTensorOp(name, op, t, inputs: runtime, outputs: outputs)
    }
}

extension Importer {
    /// Records a tensor-op node and the shapes of its outputs.
    func emitTensorOp(_ name: String, _ onnxOp: String, _ t: TensorOp, inputs: [String], outputs: [String])
        throws(ONNXError)
    {
        let node = Node(name: name, op: .tensor(t), inputs: inputs, outputs: outputs)
        let outs: [[Int]]
        do { outs = try node.inferOutputShapes(inputs.map { shapes[$0] ?? [] }) } catch {
            throw .unsupportedUsage(node: name, opType: onnxOp, message: graphMessage(error))
        }
        for (o, s) in zip(outputs, outs) {
            try checkRuntimeShape(s, node: name, opType: onnxOp, what: "its output '\(o)'")
            shapes[o] = s
        }
        nodes.append(IRNode(name: name, onnxOp: onnxOp, kind: .op(.tensor(t)), inputs: inputs, outputs: outputs))
    }

    /// The op a leftover shape-level IR node becomes, or nil when no definition takes it.
    func lowered(_ n: IRNode) -> Op? {
        func make(_ kind: String, _ attributes: [String: AttributeValue], _ operands: [Operand]) -> Op? {
            TensorOps.definition(named: kind) == nil
                ? nil : .tensor(TensorOp(kind: kind, attributes: attributes, operands: operands))
        }
        switch n.kind {
        case .op(let op): return op
        case .reshape(let target):
            // The file's own target (0 copies, −1 infers) where there was one. A leading size
            // equal to the input's (the batch, when import computed the target from Shape at
            // batch 1) is written as 0, "copy from the input", so the graph follows the batch.
            var spec = reshapeSpecs[n.name] ?? target
            if let x = n.inputs.first.flatMap({ shapes[$0] }), let first = x.first, spec.first == first, first > 0 {
                spec[0] = 0
            }
            return make("Reshape", ["shape": .ints(spec)], [.input])
        case .transpose(let perm): return make("Transpose", ["perm": .ints(perm)], [.input])
        case .pad(let begin, let end, let value):
            return make(
                "Pad", ["pads": .ints(begin + end), "mode": .string("constant"), "value": .float(Double(value))],
                [.input])
        case .constBinary(let kind, let c, let constFirst):
            let operand = Operand.constant(tensor(c, node: n.name, role: "operand", shape: nil, values: nil))
            return make(kind.rawValue, [:], constFirst ? [operand, .input] : [.input, operand])
        }
    }
}

extension ConvertNode {
    /// A node whose every input is a constant, computed now with its definition's kernel in
    /// Float64 (within `ImportLimits.maxFoldedElements`), so that no node without run-time
    /// inputs reaches the graph.
    func foldWithDefinition(_ definition: any TensorOpDefinition) throws(ONNXError) {
        let view = try view()
        let t: TensorOp
        do { t = try definition.importONNX(view) } catch { throw fail(error.message) }
        guard t.inputCount == 0 else { throw fail("internal: a constant node kept \(t.inputCount) run-time operands") }
        let operandShapes = t.operandShapes([])
        let outs: [[Int]]
        do { outs = try definition.outputShapes(t, operands: operandShapes) } catch { throw fail(error.message) }
        var outputs = node.output
        while outputs.last == "" { outputs.removeLast() }
        guard outs.count == outputs.count else {
            throw fail("makes \(outs.count) outputs, the node names \(outputs.count)")
        }
        var counts: [Int] = []
        for s in outs {
            guard let n = ImportLimits.elementCount(s), n <= ImportLimits.maxFoldedElements else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message:
                        "computing \(formatShape(s)) at import is beyond \(ImportLimits.maxFoldedElements) elements")
            }
            counts.append(n)
        }
        let kernel: TensorKernel<Double>
        do { kernel = try definition.prepare(t, operands: operandShapes, outputs: outs, as: Double.self) } catch {
            throw fail(error.message)
        }
        let ins = t.constants.map { c -> UnsafeMutablePointer<Double> in
            let p = UnsafeMutablePointer<Double>.allocate(capacity: max(c.tensor.count, 1))
            for (k, v) in c.tensor.array.enumerated() { p[k] = Double(v) }
            return p
        }
        let outPointers = counts.map { UnsafeMutablePointer<Double>.allocate(capacity: max($0, 1)) }
        defer { for p in ins + outPointers { p.deallocate() } }
        kernel(ins.map { UnsafePointer($0) }, outPointers)
        let buffers = zip(outPointers, counts).map { Array(UnsafeBufferPointer(start: $0.0, count: $0.1)) }
        for (o, (s, values)) in zip(outputs, zip(outs, buffers)) {
            importer.consts[o] = ConstTensor(shape: s, floats: values.map { Float($0) }, name: o)
        }
        importer.folded += 1
    }
}
