// Pad: grows (or, with negative pads, crops) every axis (ONNX Pad; modes constant, reflect,
// edge and wrap; pads an attribute before opset 11, a constant input from 11 with the optional
// constant_value input and, from 18, the axes input). The lowered IR of the built-in import is
// {pads, mode "constant", value}.
import CNNKernels

struct PadOp: TensorOpDefinition {
    let name = "Pad"
    let summary =
        "y = x padded by `pads` (all begins, then all ends; negative crops) with `mode` constant (`value`), reflect, edge or wrap"

    static let modes = ["constant", "reflect", "edge", "wrap"]

    func checked(_ op: TensorOp, _ x: [Int]) throws(TensorOpError) -> (pads: [Int], mode: String, out: [Int]) {
        let pads = try op.ints("pads"), mode = try op.string("mode", default: "constant")
        guard Self.modes.contains(mode) else {
            throw TensorOpError("mode '\(mode)' is not one of \(Self.modes.joined(separator: ", "))")
        }
        guard pads.count == 2 * x.count else {
            throw TensorOpError("pads \(pads) must hold 2 values per axis of \(formatShape(x))")
        }
        var out = x
        for a in x.indices {
            out[a] = try Movement.sum(
                try Movement.sum(x[a], pads[a], "padding axis \(a)"), pads[a + x.count], "padding axis \(a)")
            guard out[a] >= 1 else { throw TensorOpError("pads \(pads) leave axis \(a) of \(formatShape(x)) empty") }
        }
        guard !(try op.float("value", default: 0)).isNaN else { throw TensorOpError("value is NaN") }
        return (pads, mode, out)
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        try TensorShapes.checkRank(operands[0])
        return [try checked(op, operands[0]).out]
    }

    /// The source index output index `j` of an axis of size `d` reads (−1: the constant).
    static func source(_ j: Int, begin: Int, size d: Int, mode: String) -> Int {
        let i = j - begin
        if i >= 0 && i < d { return i }
        switch mode {
        case "edge": return i < 0 ? 0 : d - 1
        case "wrap": return ((i % d) + d) % d
        case "reflect":
            guard d > 1 else { return 0 }
            let period = 2 * (d - 1)
            let r = ((i % period) + period) % period
            return r < d ? r : period - r
        default: return -1
        }
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0], c = try checked(op, x)
        let maps = x.indices.map { a in
            (0..<c.out[a]).map { Self.source($0, begin: c.pads[a], size: x[a], mode: c.mode) }
        }
        let copy = PadCopy(input: x, output: c.out, maps: maps, value: try op.float("value", default: 0))
        return { operands, outputs in copy.copy(from: operands[0], to: outputs[0]) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard case .value(let x) = node.input(0) else { throw TensorOpError("the input must be a run-time value") }
        let mode = try node.string("mode", default: "constant")
        guard Self.modes.contains(mode), mode != "wrap" || node.opset >= 19 else {
            throw TensorOpError("mode '\(mode)' is not supported at opset \(node.opset)")
        }
        var pads: [Int], value = 0.0
        if node.opset < 11 {
            let named = try node.ints("pads"), legacy = try node.ints("paddings")
            guard let p = named ?? legacy else { throw TensorOpError("attribute 'pads' is required") }
            pads = p
            value = try node.float("value", default: 0)
        } else {
            guard let p = try node.constantInts(1, "pads") else { throw TensorOpError("the pads input is required") }
            pads = p
            switch node.input(2) {
            case .absent: break
            case .value:
                throw TensorOpError("the constant_value input is computed at run time; only a constant is supported")
            case .constant(let c):
                guard c.values.count == 1 else {
                    throw TensorOpError("constant_value has \(c.values.count) values, expected 1")
                }
                value = c.values[0]
            }
            if node.opset >= 18, let given = try node.constantInts(3, "axes") {
                let axes = try TensorShapes.axes(given, rank: x.count)
                guard pads.count == 2 * given.count else {
                    throw TensorOpError("pads \(pads) must hold 2 values per axis of \(given)")
                }
                var full = [Int](repeating: 0, count: 2 * x.count)
                // `axes` sorted loses the pairing with pads: pair them by the given order.
                for (k, a) in given.enumerated() {
                    let n = a < 0 ? a + x.count : a
                    full[n] = pads[k]; full[n + x.count] = pads[k + given.count]
                }
                _ = axes
                pads = full
            }
        }
        guard pads.count == 2 * x.count else {
            throw TensorOpError("pads \(pads) must hold 2 values per axis of \(formatShape(x))")
        }
        var attributes: [String: AttributeValue] = ["pads": .ints(pads), "mode": .string(mode)]
        if mode == "constant" { attributes["value"] = .float(value) }
        return TensorOp(kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "pad"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let mode = try op.string("mode", default: "constant"), value = try op.float("value", default: 0)
        var inputs: [ONNXFormInput] = [.operand(0), .ints(try op.ints("pads"))]
        if mode == "constant" && value != 0 { inputs.append(.floatTensor(shape: [], values: [value])) }
        return ONNXNodeForm(
            opType: "Pad", attributes: ["mode": .string(mode)], inputs: inputs,
            minimumOpset: mode == "wrap" ? 19 : 13)
    }

    func describe(_ op: TensorOp) -> String {
        let mode = (try? op.string("mode", default: "constant")) ?? "?"
        let pads = (try? op.ints("pads")).map { AttributeValue.ints($0).description } ?? "?"
        return "pads \(pads), \(mode)" + (mode == "constant" ? " \((try? op.float("value", default: 0)) ?? 0)" : "")
    }
}
