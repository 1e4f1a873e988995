// GlobalPool: max or average over every spatial position, per channel (the head of most CNNs).
// Its kernels are CNNKernels' globalMaxPool and globalAveragePool, bound in CNNRuntime/Plan.swift.
import CNNFormat
import CNNKernels

/// The definition of `Op.globalPool`, whose payload is only the pooling kind.
package struct GlobalPoolDefinition: OpDefinition {
    package var kind: PoolKind
    package init(kind: PoolKind) { self.kind = kind }

    package var op: Op { .globalPool(kind) }
    package var kindName: String { kind == .max ? "GlobalMaxPool" : "GlobalAvgPool" }
    package static var kindNames: [String] { ["GlobalMaxPool", "GlobalAvgPool"] }
    package static var formatFields: [String] { ["global_pool"] }
    package static var summary: String { "max or average over all positions, per channel" }
    package static var onnxImportTypes: [String] { ["GlobalMaxPool", "GlobalAveragePool"] }
    package static var onnxExportTypes: [String] { ["GlobalMaxPool", "GlobalAveragePool"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        guard ins[0].count >= 3 else { throw node.fail("global pooling takes NC… input, got \(formatShape(ins[0]))") }
        return Array(ins[0].prefix(2)) + Array(repeating: 1, count: ins[0].count - 2)
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let (shape, x, y) = (shape4(b.xs), b.x, b.output)
        if kind == .max { return { globalMaxPool(shape, input: x, output: y) } }
        return { globalAveragePool(shape, input: x, output: y) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_GlobalPool(); o.kind = kind == .max ? .max : .average; n.globalPool = o
    }

    static func decode(_ p: Cnnconv_V1_GlobalPool, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .globalPool(try d.known(p.kind, name, "global_pool.kind") == .average ? .average : .max)
    }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node(kind == .max ? "GlobalMaxPool" : "GlobalAveragePool", n.name, [n.inputs.first ?? ""], [n.output])
    }
}
