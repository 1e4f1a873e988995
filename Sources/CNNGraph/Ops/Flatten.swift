// Flatten: to 2-D as ONNX does, [d0·…·d(axis−1), d(axis)·…·d(rank−1)]. The executor copies (or
// runs it in place); CNNRuntime/Plan.swift binds it.
import CNNFormat
import CNNKernels

/// The definition of `Op.flatten`, whose payload is only the axis.
package struct FlattenDefinition: OpDefinition {
    package var axis: Int
    package init(axis: Int) { self.axis = axis }

    package var op: Op { .flatten(axis: axis) }
    package var kindName: String { "Flatten" }
    package static var kindNames: [String] { ["Flatten"] }
    package static var formatFields: [String] { ["flatten"] }
    package static var summary: String { "to 2-D at an axis, as ONNX Flatten" }
    package static var onnxImportTypes: [String] { ["Flatten"] }
    package static var onnxExportTypes: [String] { ["Flatten"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        let x = ins[0]
        let a = try node.normalizedAxis(axis, rank: x.count, allowRank: true)
        return [x[..<a].reduce(1, *), x[a...].reduce(1, *)]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "axis=\(axis)" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        b.copy
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Flatten(); o.axis = Int32(clamping: axis); n.flatten = o
    }

    static func decode(_ f: Cnnconv_V1_Flatten) -> Op { .flatten(axis: Int(f.axis)) }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node("Flatten", n.name, [n.inputs.first ?? ""], [n.output], attributes: [("axis", .int(axis))])
    }
}
