// What LSTM and GRU share: the ONNX input positions their operands come from, the shape rule
// (X, W, R, B, the states, layout 0 and 1), the attributes (hidden_size, direction, layout,
// clip, sequence_lens, outputs) and the ONNX mapping. Each kind's file adds its gate count, its
// optional inputs and its kernel call.
import CNNKernels

/// The parts of a recurrent layer's definition that differ between LSTM and GRU.
protocol RecurrentOpDefinition: TensorOpDefinition {
    /// Gates per hidden unit: 4 (LSTM: i, o, f, c) or 3 (GRU: z, r, h).
    var gates: Int { get }
    /// ONNX input positions after X, W, R that may be operands (4, sequence_lens, never is).
    var optionalInputs: [Int] { get }
    /// The most outputs (Y, Y_h and, for LSTM, Y_c).
    var maxOutputs: Int { get }
    /// The activations ONNX defaults to, as the importer reads the list ("Sigmoid,Tanh,Tanh").
    var defaultActivations: [String] { get }
    /// Attributes of this kind beyond the shared ones (GRU's linear_before_reset), checked.
    func checkOwnAttributes(_ op: TensorOp) throws(TensorOpError)
}

/// A recurrent op's checked shapes: the kernel's geometry, which operand holds which ONNX input,
/// and the sequence lengths.
struct RecurrentLayout {
    var geometry: RecurrentGeometry
    /// The operand index of each ONNX input position present (X 0, W 1, R 2, B 3, initial_h 5, …).
    var operandAt: [Int: Int]
    var sequenceLengths: [Int]?
    var outputs: Int
    var clip: Double?

    /// Y, then the states, per `layout`.
    var outputShapes: [[Int]] {
        let g = geometry
        let y =
            g.batchFirst
            ? [g.batch, g.sequenceLength, g.directions, g.hiddenSize]
            : [g.sequenceLength, g.directions, g.batch, g.hiddenSize]
        return [y] + [[Int]](repeating: stateShape, count: outputs - 1)
    }

    var stateShape: [Int] {
        let g = geometry
        return g.batchFirst ? [g.batch, g.directions, g.hiddenSize] : [g.directions, g.batch, g.hiddenSize]
    }
}

extension RecurrentOpDefinition {
    /// The ONNX input positions of the operands, in operand order (attribute `inputs`).
    func positions(_ op: TensorOp) throws(TensorOpError) -> [Int] {
        let p = try op.ints("inputs", default: [0, 1, 2])
        guard p.count >= 3, Array(p.prefix(3)) == [0, 1, 2], zip(p, p.dropFirst()).allSatisfy({ $0 < $1 }),
            p.dropFirst(3).allSatisfy(optionalInputs.contains)
        else {
            throw TensorOpError(
                "attribute 'inputs' is \(p): must be 0, 1, 2 then increasing positions among \(optionalInputs)")
        }
        return p
    }

    func layout(_ op: TensorOp, _ operands: [[Int]]) throws(TensorOpError) -> RecurrentLayout {
        let positions = try positions(op)
        guard operands.count == positions.count else {
            throw TensorOpError("takes \(positions.count) operands (ONNX inputs \(positions)), has \(operands.count)")
        }
        var at: [Int: Int] = [:]
        for (i, p) in positions.enumerated() { at[p] = i }
        try checkOwnAttributes(op)
        if try op.int("input_forget", default: 0) != 0 {
            throw TensorOpError("input_forget = 1 (coupled input and forget gates) is not supported")
        }
        let hidden = try op.int("hidden_size")
        guard hidden > 0 else { throw TensorOpError("hidden_size is \(hidden), must be > 0") }
        let directionName = try op.string("direction", default: "forward")
        guard let direction = RecurrentDirection(rawValue: directionName) else {
            throw TensorOpError("direction '\(directionName)' is not forward, reverse or bidirectional")
        }
        let layoutValue = try op.int("layout", default: 0)
        guard layoutValue == 0 || layoutValue == 1 else {
            throw TensorOpError("attribute 'layout' is \(layoutValue), must be 0 or 1")
        }
        let batchFirst = layoutValue == 1
        var clip: Double?
        if op.attributes["clip"] != nil {
            let c = try op.float("clip")
            guard c > 0, c.isFinite else { throw TensorOpError("clip \(c) must be finite and > 0") }
            clip = c
        }
        let outputs = try op.int("outputs", default: 1)
        guard (1...maxOutputs).contains(outputs) else {
            throw TensorOpError("attribute 'outputs' is \(outputs), must be 1 to \(maxOutputs)")
        }
        let d = direction == .bidirectional ? 2 : 1
        let x = operands[0]
        guard x.count == 3 else { throw TensorOpError("X \(formatShape(x)) must be 3-D") }
        let (steps, batch, inputs) = batchFirst ? (x[1], x[0], x[2]) : (x[0], x[1], x[2])
        guard steps > 0 else { throw TensorOpError("X \(formatShape(x)) has no time steps") }
        let (g, gh) = hidden.multipliedReportingOverflow(by: gates)
        guard !gh, TensorShapes.count([d, g, max(inputs, hidden) * 2]) != nil,
            TensorShapes.count([steps, batch, g, 2]) != nil
        else { throw TensorOpError("hidden_size \(hidden) with X \(formatShape(x)) is too large") }
        func expect(_ position: Int, _ role: String, _ shape: [Int]) throws(TensorOpError) {
            guard let i = at[position] else { return }
            guard operands[i] == shape else {
                throw TensorOpError("\(role) is \(formatShape(operands[i])), expected \(formatShape(shape))")
            }
        }
        try expect(1, "W", [d, g, inputs])
        try expect(2, "R", [d, g, hidden])
        try expect(3, "B", [d, 2 * g])
        let state = batchFirst ? [batch, d, hidden] : [d, batch, hidden]
        try expect(5, "initial_h", state)
        try expect(6, "initial_c", state)
        try expect(7, "P", [d, 3 * hidden])
        let lengths = try op.optionalInts("sequence_lens")
        if let lengths {
            guard lengths.count == batch else {
                throw TensorOpError("sequence_lens has \(lengths.count) values for a batch of \(batch)")
            }
            guard lengths.allSatisfy({ (1...steps).contains($0) }) else {
                throw TensorOpError("sequence_lens \(lengths) must be between 1 and the \(steps) steps")
            }
        }
        let geometry = RecurrentGeometry(
            sequenceLength: steps, batch: batch, inputSize: inputs, hiddenSize: hidden, direction: direction,
            batchFirst: batchFirst)
        return RecurrentLayout(
            geometry: geometry, operandAt: at, sequenceLengths: lengths, outputs: outputs, clip: clip)
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try layout(op, operands).outputShapes
    }

    func scratchElements(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        guard let l = try? layout(op, operands) else { return 0 }
        return l.geometry.scratchElements(gates: gates)
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        guard let l = try? layout(op, operands) else { return 0 }
        let g = l.geometry
        return TensorShapes.count([
            g.directions, g.sequenceLength, g.batch, gates * g.hiddenSize, g.inputSize + g.hiddenSize,
        ]) ?? .max
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var attributes: [String: AttributeValue] = [:]
        let activations = try node.string("activations", default: "")
        if !activations.isEmpty {
            let items = activations.split(separator: ",").map(String.init)
            let direction = try node.string("direction", default: "forward")
            let expected = direction == "bidirectional" ? defaultActivations + defaultActivations : defaultActivations
            guard items.map({ $0.lowercased() }) == expected.map({ $0.lowercased() }) else {
                throw TensorOpError(
                    "activations \(items) are not supported (only the default \(defaultActivations.joined(separator: ", ")))"
                )
            }
        }
        for key in ["activation_alpha", "activation_beta"] where node.attributes[key] != nil {
            throw TensorOpError("attribute '\(key)' is not supported (only the default activations)")
        }
        for key in ["hidden_size", "layout", "input_forget", "linear_before_reset"] {
            if let v = node.attributes[key] { attributes[key] = v }
        }
        if attributes["hidden_size"] == nil, case .value(let r) = node.input(2), r.count == 3 {
            attributes["hidden_size"] = .int(r[2])
        } else if attributes["hidden_size"] == nil, case .constant(let r) = node.input(2), r.shape.count == 3 {
            attributes["hidden_size"] = .int(r.shape[2])
        }
        for key in ["direction", "clip"] { if let v = node.attributes[key] { attributes[key] = v } }
        if node.outputCount > 1 { attributes["outputs"] = .int(node.outputCount) }
        var positions = [0, 1, 2]
        for p in optionalInputs where node.input(p) != .absent { positions.append(p) }
        if positions != [0, 1, 2] { attributes["inputs"] = .ints(positions) }
        if let lengths = try node.constantInts(4, "sequence_lens") {
            // Lengths equal to the whole sequence are the default: dropped, so that the op keeps
            // no batch-sized attribute it does not need.
            let x: [Int]? =
                switch node.input(0) {
                case .value(let s): s
                case .constant(let c): c.shape
                case .absent: nil
                }
            let steps = x.flatMap { $0.count == 3 ? (try? node.int("layout", default: 0)) == 1 ? $0[1] : $0[0] : nil }
            if lengths.contains(where: { $0 != steps }) { attributes["sequence_lens"] = .ints(lengths) }
        }
        return TensorOp(
            kind: name, attributes: attributes,
            operands: try node.operands(positions, constantPrefix: name.lowercased()))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let positions = try positions(op)
        var inputs: [ONNXFormInput] = []
        for p in 0...(positions.last ?? 2) {
            if let i = positions.firstIndex(of: p) {
                inputs.append(.operand(i))
            } else if p == 4, let lengths = try op.optionalInts("sequence_lens") {
                inputs.append(.int32s(lengths))
            } else {
                inputs.append(.absent)
            }
        }
        if !positions.contains(where: { $0 > 4 }), let lengths = try op.optionalInts("sequence_lens") {
            while inputs.count < 4 { inputs.append(.absent) }
            inputs.append(.int32s(lengths))
        }
        let layout = try op.int("layout", default: 0)
        return ONNXNodeForm(
            opType: name,
            attributes: op.attributes.filter {
                ["hidden_size", "direction", "layout", "clip", "linear_before_reset", "input_forget"].contains($0.key)
            },
            inputs: inputs, minimumOpset: layout == 1 ? 14 : 13)
    }
}
