// Concat: run-time inputs joined along one axis (Inception, DenseNet, U-Net skips). Constant
// parts are the tensor op's; CNNKernels' concat runs it.
import CNNFormat
import CNNKernels

/// The definition of `Op.concat`, whose payload is only the axis.
package struct ConcatDefinition: OpDefinition {
    package var axis: Int
    package init(axis: Int) { self.axis = axis }

    package var op: Op { .concat(axis: axis) }
    package var kindName: String { "Concat" }
    package static var kindNames: [String] { ["Concat"] }
    package static var formatFields: [String] { ["concat"] }
    package static var summary: String { "inputs joined along an axis" }
    package static var onnxImportTypes: [String] { ["Concat"] }
    package static var onnxExportTypes: [String] { ["Concat"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        guard !ins.isEmpty else {
            throw .wrongInputCount(node: node.name, op: "Concat", expected: "1 or more", found: 0)
        }
        let a = try node.normalizedAxis(axis, rank: ins[0].count)
        var out = ins[0]
        for s in ins.dropFirst() {
            guard s.count == out.count, s.indices.allSatisfy({ $0 == a || s[$0] == out[$0] }) else {
                throw node.fail("Concat inputs \(formatShape(ins[0])) and \(formatShape(s)) differ off axis \(axis)")
            }
            guard let sum = out[a].adding(checked: s[a]) else {
                throw .tooLarge(node: node.name, message: "the concatenated axis \(axis) overflows")
            }
            out[a] = sum
        }
        return out
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "axis=\(axis)" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let xs = b.xs, a = axis < 0 ? axis + xs.count : axis
        let parts = zip(b.inputs, b.inputShapes).map { (data: $0.0, shape: $0.1) }
        guard a >= 0, a < xs.count else { throw .axisOutOfRange(axis: axis, rank: xs.count) }
        let y = b.output
        return { try concat(parts, axis: a, output: y) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Concat(); o.axis = Int32(clamping: axis); n.concat = o
    }

    static func decode(_ c: Cnnconv_V1_Concat) -> Op { .concat(axis: Int(c.axis)) }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node("Concat", n.name, n.inputs, [n.output], attributes: [("axis", .int(axis))])
    }
}
