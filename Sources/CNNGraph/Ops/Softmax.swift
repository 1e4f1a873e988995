// Softmax along one axis (opset-13 semantics). CNNKernels' softmax runs it.
import CNNFormat
import CNNKernels

/// The definition of `Op.softmax`, whose payload is only the axis.
package struct SoftmaxDefinition: OpDefinition {
    package var axis: Int
    package init(axis: Int) { self.axis = axis }

    package var op: Op { .softmax(axis: axis) }
    package var kindName: String { "Softmax" }
    package static var kindNames: [String] { ["Softmax"] }
    package static var formatFields: [String] { ["softmax"] }
    package static var summary: String { "softmax along one axis" }
    package static var onnxImportTypes: [String] { ["Softmax"] }
    package static var onnxExportTypes: [String] { ["Softmax"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        _ = try node.normalizedAxis(axis, rank: ins[0].count)
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "axis=\(axis)" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let xs = b.xs, a = axis < 0 ? axis + xs.count : axis
        guard a >= 0, a < xs.count else { throw .axisOutOfRange(axis: axis, rank: xs.count) }
        let (x, y) = (b.x, b.output)
        return { try softmax(input: x, output: y, shape: xs, axis: a) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Softmax(); o.axis = Int32(clamping: axis); n.softmax = o
    }

    static func decode(_ s: Cnnconv_V1_Softmax) -> Op { .softmax(axis: Int(s.axis)) }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node("Softmax", n.name, [n.inputs.first ?? ""], [n.output], attributes: [("axis", .int(axis))])
    }
}
