// Dropout: inverted or classic, element- or channel-wise. The fold passes remove it or fold its
// keep probability into a neighbour's weights (FoldingAnalysis, CNNPasses); the executor's train
// and MC-dropout modes sample it (CNNRuntime/Plan.swift, CNNKernels' dropout).
import CNNFormat

/// Dropout as the file stores it: what the inference rule is depends on the convention, so the
/// fold can remove it (inverted) or fold its keep probability (classic) correctly.
public struct Dropout: Sendable, Equatable {
    /// Inverted scales kept units by 1/keep while training (inference is the identity); classic
    /// does not, so inference multiplies by keep.
    public enum Convention: String, Sendable { case inverted, classic }
    /// Element-wise drops single values; channel (spatial dropout) drops whole feature maps.
    public enum Granularity: String, Sendable { case element, channel }
    /// Probability of dropping a unit, in [0, 1).
    public var rate: Double
    /// Which inference rule applies (see `Convention`).
    public var convention: Convention
    /// What one draw drops (see `Granularity`).
    public var granularity: Granularity
    /// Defaults are PyTorch's `nn.Dropout` (inverted, element-wise).
    public init(rate: Double, convention: Convention = .inverted, granularity: Granularity = .element) {
        self.rate = rate; self.convention = convention; self.granularity = granularity
    }
    /// The factor classic dropout applies at inference, and 1/it the one inverted applies in training.
    public var keepProbability: Double { 1 - rate }
}

extension Dropout: OpDefinition {
    package var op: Op { .dropout(self) }
    package var kindName: String { "Dropout" }
    package static var kindNames: [String] { ["Dropout"] }
    package static var formatFields: [String] { ["dropout"] }
    package static var summary: String { "inverted or classic dropout, element- or channel-wise; rate in [0, 1)" }
    package static var onnxImportTypes: [String] { ["Dropout"] }
    package static var onnxExportTypes: [String] { ["Dropout", "Mul"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        guard rate >= 0, rate < 1 else { throw node.bad("dropout rate is \(rate), must be in [0, 1)") }
        return ins[0]
    }

    /// A rate of 1 drops everything (keep = 0 cannot be inverted); validation says so by name.
    package func validateParameterValues(of node: Node) throws(GraphError) {
        guard rate >= 0, rate < 1 else {
            throw .invalidAttribute(node: node.name, message: "dropout rate is \(rate), must be in [0, 1)")
        }
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        "p=\(trimmed(rate)) \(convention.rawValue)" + (granularity == .channel ? " channel" : "")
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Dropout()
        o.rate = rate
        o.convention = convention == .classic ? .classic : .inverted
        o.granularity = granularity == .channel ? .channel : .element
        n.dropout = o
    }

    static func decode(_ m: Cnnconv_V1_Dropout, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .dropout(
            Dropout(
                rate: m.rate,
                convention: try d.known(m.convention, name, "dropout.convention") == .classic ? .classic : .inverted,
                granularity: try d.known(m.granularity, name, "dropout.granularity") == .channel ? .channel : .element))
    }

    /// Classic dropout scales by the keep probability at inference, which ONNX's Dropout never
    /// does: it exports as that Mul.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? ""
        if convention == .classic {
            let keep = b.initializer("\(n.name).keep_probability", shape: [], floats: [Float(keepProbability)])
            b.node("Mul", n.name, [x, keep], [n.output])
        } else {
            let ratio = b.initializer("\(n.name).ratio", shape: [], floats: [Float(rate)])
            b.node("Dropout", n.name, [x, ratio], [n.output])
        }
    }
}
