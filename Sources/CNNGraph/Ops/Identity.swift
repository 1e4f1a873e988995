// Identity: the input unchanged (what a removed op leaves behind until dead-node removal; an
// ONNX Identity or a one-input Sum). The executor copies or aliases.
import CNNFormat
import CNNKernels

/// The definition of `Op.identity`, which has no attributes.
package struct IdentityDefinition: OpDefinition {
    package init() {}
    package var op: Op { .identity }
    package var kindName: String { "Identity" }
    package static var kindNames: [String] { ["Identity"] }
    package static var formatFields: [String] { ["identity"] }
    package static var summary: String { "the input unchanged" }
    package static var onnxImportTypes: [String] { ["Identity"] }
    package static var onnxExportTypes: [String] { ["Identity"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        return ins[0]
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        b.copy
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        n.identity = .init()
    }

    static func decode(_: Cnnconv_V1_Identity) -> Op { .identity }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node("Identity", n.name, [n.inputs.first ?? ""], [n.output])
    }
}
