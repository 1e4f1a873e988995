// Mul: x · s with s same-shaped or per channel ([N, C, 1, 1] against [N, C, H, W]: the
// squeeze-and-excitation gate). CNNKernels' multiply and multiplyChannels run it.
import CNNFormat
import CNNKernels

/// The definition of `Op.mul`, which has no attributes.
package struct MulDefinition: OpDefinition {
    package init() {}
    package var op: Op { .mul }
    package var kindName: String { "Mul" }
    package static var kindNames: [String] { ["Mul"] }
    package static var formatFields: [String] { ["mul"] }
    package static var summary: String { "x·s, s same-shaped or per channel [N, C, 1, 1]" }
    package static var onnxImportTypes: [String] { ["Mul"] }
    package static var onnxExportTypes: [String] { ["Mul"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 2)
        let (x, s) = (ins[0], ins[1])
        let perChannel =
            s.count == x.count && x.count >= 2 && s[0] == x[0] && s[1] == x[1] && s.dropFirst(2).allSatisfy { $0 == 1 }
        guard s == x || perChannel else {
            throw node.fail(
                "Mul needs same shapes or a per-channel second input [N, C, 1, 1]; got \(formatShape(x)) and \(formatShape(s))"
            )
        }
        return x
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let (x, s, y, n) = (b.x, b.inputs[1], b.output, b.count)
        if b.inputShapes[1] == b.xs { return { multiply(x, s, output: y, count: n) } }
        let shape = shape4(b.xs)
        return { multiplyChannels(shape, input: x, scale: s, output: y) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) { n.mul = .init() }

    static func decode(_: Cnnconv_V1_Mul) -> Op { .mul }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node("Mul", n.name, n.inputs, [n.output])
    }
}
