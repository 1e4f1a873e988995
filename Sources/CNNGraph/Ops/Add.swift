// Add: the sum of two or more same-shaped run-time inputs (residual connections). Broadcasting
// and constant operands are the tensor op's (TensorOps/Elementwise); CNNKernels' add runs it.
import CNNFormat
import CNNKernels

/// The definition of `Op.add`, which has no attributes.
package struct AddDefinition: OpDefinition {
    package init() {}
    package var op: Op { .add }
    package var kindName: String { "Add" }
    package static var kindNames: [String] { ["Add"] }
    package static var formatFields: [String] { ["add"] }
    package static var summary: String { "the sum of two or more same-shaped inputs" }
    package static var onnxImportTypes: [String] { ["Add", "Sum"] }
    package static var onnxExportTypes: [String] { ["Add", "Sum"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        guard ins.count >= 2 else {
            throw .wrongInputCount(node: node.name, op: "Add", expected: "2 or more", found: ins.count)
        }
        for s in ins.dropFirst() where s != ins[0] {
            throw node.fail("Add inputs differ in shape: \(formatShape(ins[0])) and \(formatShape(s))")
        }
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "\(inputShapes.count) inputs" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let (inputs, y, n) = (b.inputs, b.output, b.count)
        if inputs.count == 1 { return b.copy }
        return { add(inputs, output: y, count: n) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) { n.add = .init() }

    static func decode(_: Cnnconv_V1_Add) -> Op { .add }

    /// ONNX's Add takes exactly two inputs; Sum any number.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node(n.inputs.count == 2 ? "Add" : "Sum", n.name, n.inputs, [n.output])
    }
}
