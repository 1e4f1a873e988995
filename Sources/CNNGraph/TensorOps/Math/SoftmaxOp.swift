// Softmax and LogSoftmax on any axis. From opset 13 ONNX normalizes along the one axis `axis`
// (default −1); before, it coerced the input to 2-D at `axis` (default 1) and normalized over
// all the axes from `axis` on jointly. The importer keeps the one-axis Softmax as the built-in
// `softmax` node; the joint (opset < 13) form comes here with the attribute `coerced` = 1.
import CNNKernels

struct SoftmaxOp: TensorOpDefinition {
    let name: String
    let summary: String
    /// LogSoftmax: log of the normalized values.
    let log: Bool

    static let all: [SoftmaxOp] = [
        SoftmaxOp(
            name: "Softmax",
            summary: "y = eˣ / Σ eˣ along `axis` (with `coerced`: jointly over the axes from `axis` on)", log: false),
        SoftmaxOp(
            name: "LogSoftmax",
            summary: "y = x − log Σ eˣ along `axis` (with `coerced`: jointly over the axes from `axis` on)", log: true),
    ]

    /// (outer, length, inner) of the normalized run for input `x`.
    func split(_ op: TensorOp, _ x: [Int]) throws(TensorOpError) -> (Int, Int, Int) {
        try TensorShapes.checkRank(x)
        guard !x.isEmpty else { throw TensorOpError("\(name) of a scalar is not defined") }
        let coerced = try op.int("coerced", default: 0)
        guard coerced == 0 || coerced == 1 else {
            throw TensorOpError("attribute 'coerced' is \(coerced), must be 0 or 1")
        }
        let axis = try TensorShapes.axis(try op.int("axis", default: coerced == 1 ? 1 : -1), rank: x.count)
        guard let outer = TensorShapes.count(Array(x[..<axis])), let rest = TensorShapes.count(Array(x[axis...])) else {
            throw TensorOpError("the input \(formatShape(x)) is too large")
        }
        return coerced == 1 ? (outer, rest, 1) : (outer, x[axis], rest / max(x[axis], 1))
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 1 else { throw TensorOpError("takes 1 operand, has \(operands.count)") }
        _ = try split(op, operands[0])
        return [operands[0]]
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        operands.first.flatMap { TensorShapes.count($0) } ?? 0
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let (outer, length, inner) = try split(op, operands[0])
        if log {
            return { operands, outputs in
                logSoftmax(input: operands[0], output: outputs[0], outer: outer, length: length, inner: inner)
            }
        }
        return { operands, outputs in
            // The shape and axis are valid by construction: the kernel cannot refuse them.
            try? softmax(input: operands[0], output: outputs[0], shape: [outer, length, inner], axis: 1)
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        let operands = try node.operands([0], constantPrefix: name.lowercased())
        guard node.opset < 13 else {
            return TensorOp(
                kind: name, attributes: ["axis": .int(try node.int("axis", default: -1))], operands: operands)
        }
        let axis = try node.int("axis", default: 1)
        var attributes: [String: AttributeValue] = ["axis": .int(axis)]
        // Joint normalization only matters when more than one axis from `axis` on is not 1.
        let shape: [Int]
        switch node.input(0) {
        case .value(let s): shape = s
        case .constant(let c): shape = c.shape
        case .absent: throw TensorOpError("input 0 is required")
        }
        let a = try TensorShapes.axis(axis, rank: shape.count)
        if shape[(a + 1)...].contains(where: { $0 != 1 }) { attributes["coerced"] = .int(1) }
        return TensorOp(kind: name, attributes: attributes, operands: operands)
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        if try op.int("coerced", default: 0) == 1 {
            throw TensorOpError(
                "\(name) normalizing jointly over the axes from \(try op.int("axis", default: 1)) on (opset < 13 semantics) has no one-node ONNX form at the exporter's opset 17"
            )
        }
        return .operands(name, op, attributes: ["axis": .int(try op.int("axis", default: -1))], minimumOpset: 13)
    }
}
