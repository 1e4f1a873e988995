// LRN: local response normalization across channels (AlexNet, GoogLeNet). CNNKernels'
// localResponseNorm runs it.
import CNNFormat
import CNNKernels

/// Local response normalization across channels (AlexNet, ONNX LRN):
/// y = x / (bias + alpha/size · Σ x²)^beta over `size` neighbouring channels.
public struct LRN: Sendable, Equatable {
    /// How many neighbouring channels (centred) the sum of squares covers.
    public var size: Int
    /// The scale of the sum of squares (divided by `size`, as ONNX and PyTorch do).
    public var alpha: Float
    /// The exponent.
    public var beta: Float
    /// k, added before the exponent.
    public var bias: Float
    /// Defaults are ONNX LRN's.
    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, bias: Float = 1) {
        self.size = size; self.alpha = alpha; self.beta = beta; self.bias = bias
    }
}

extension LRN: OpDefinition {
    package var op: Op { .lrn(self) }
    package var kindName: String { "LRN" }
    package static var kindNames: [String] { ["LRN"] }
    package static var formatFields: [String] { ["lrn"] }
    package static var summary: String { "local response normalization across channels (AlexNet)" }
    package static var onnxImportTypes: [String] { ["LRN"] }
    package static var onnxExportTypes: [String] { ["LRN"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        guard size >= 1 else { throw node.bad("LRN size is \(size), must be ≥ 1") }
        guard alpha.isFinite, beta.isFinite, bias.isFinite else {
            throw node.bad("LRN alpha \(alpha), beta \(beta) and bias \(bias) must be finite")
        }
        guard ins[0].count >= 3 else { throw node.fail("LRN takes NC… input, got \(formatShape(ins[0]))") }
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        "size=\(size) α=\(trimmed(Double(alpha))) β=\(trimmed(Double(beta))) k=\(trimmed(Double(bias)))"
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let shape = shape4(b.xs)
        let (n, a, be, k) = (size, Double(alpha), Double(beta), Double(bias))
        let (x, y) = (b.x, b.output)
        return { try localResponseNorm(shape, input: x, output: y, size: n, alpha: a, beta: be, bias: k) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Lrn(); o.size = UInt32(clamping: size); o.alpha = alpha; o.beta = beta; o.bias = bias
        n.lrn = o
    }

    static func decode(_ l: Cnnconv_V1_Lrn) -> Op {
        .lrn(LRN(size: Int(l.size), alpha: l.alpha, beta: l.beta, bias: l.bias))
    }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        b.node(
            "LRN", n.name, [n.inputs.first ?? ""], [n.output],
            attributes: [
                ("size", .int(size)), ("alpha", .float(Double(alpha))), ("beta", .float(Double(beta))),
                ("bias", .float(Double(bias))),
            ])
    }
}
