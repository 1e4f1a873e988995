// BatchNorm: per-channel normalization with running statistics. The fold passes fold it into a
// neighbouring conv/linear or turn it into an Affine (CNNPasses, FoldingAnalysis); the executor
// runs it in CNNRuntime/Plan.swift's batchNormStep (train mode updates the statistics).
import CNNFormat

/// Inference: y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1).
public struct BatchNorm: Sendable, Equatable {
    /// γ, per channel; nil when not affine.
    public var scale: Tensor?
    /// β, per channel; nil when not affine.
    public var bias: Tensor?
    /// μ, the running mean inference normalizes with.
    public var runningMean: Tensor
    /// σ², the running (unbiased) variance; ≥ 0, which validation checks.
    public var runningVariance: Tensor
    /// ε, added to σ² so that a zero-variance channel does not divide by zero.
    public var epsilon: Double
    /// PyTorch's momentum: the weight of a new batch in the running statistics (train mode).
    public var momentum: Double
    /// PyTorch's counter, kept so that a round trip through the file loses nothing.
    public var numBatchesTracked: UInt64

    /// Defaults are PyTorch's `nn.BatchNorm2d` ones (ε 1e-5, momentum 0.1 weighing the new batch).
    public init(
        scale: Tensor?, bias: Tensor?, runningMean: Tensor, runningVariance: Tensor,
        epsilon: Double = 1e-5, momentum: Double = 0.1, numBatchesTracked: UInt64 = 0
    ) {
        self.scale = scale; self.bias = bias; self.runningMean = runningMean; self.runningVariance = runningVariance
        self.epsilon = epsilon; self.momentum = momentum; self.numBatchesTracked = numBatchesTracked
    }
    /// PyTorch's `affine`: whether γ and β are learned (both present) or absent.
    public var affine: Bool { scale != nil }
    /// Read from the running mean, never stored twice.
    public var channels: Int { runningMean.count }
}

extension BatchNorm: OpDefinition {
    package var op: Op { .batchNorm(self) }
    package var kindName: String { "BatchNorm" }
    package static var kindNames: [String] { ["BatchNorm"] }
    package static var formatFields: [String] { ["batch_norm"] }
    package static var summary: String {
        "y = γ·(x − μ)/√(σ² + ε) + β per channel, with running statistics and momentum"
    }
    package static var onnxImportTypes: [String] { ["BatchNormalization"] }
    package static var onnxExportTypes: [String] { ["BatchNormalization"] }

    package var parameters: [(role: String, tensor: Tensor)] {
        optionalScaleAndBias(scale, bias) + [("running_mean", runningMean), ("running_variance", runningVariance)]
    }

    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        try mapOptional(&scale, transform)
        try mapOptional(&bias, transform)
        runningMean = try transform(runningMean)
        runningVariance = try transform(runningVariance)
    }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        let b = self
        try node.expectInputs(ins, 1)
        let x = ins[0]
        guard x.count >= 2 else { throw node.fail("BatchNorm needs a channel axis, got \(formatShape(x))") }
        try node.expectCount(b.runningMean, x[1], "running mean")
        try node.expectCount(b.runningVariance, x[1], "running variance")
        try node.expectCount(b.scale, x[1], "scale (γ)")
        try node.expectCount(b.bias, x[1], "bias (β)")
        guard (b.scale == nil) == (b.bias == nil) else { throw node.bad("an affine BatchNorm needs both γ and β") }
        guard b.epsilon >= 0, b.epsilon.isFinite else {
            throw node.bad("epsilon is \(b.epsilon), must be finite and ≥ 0")
        }
        guard b.momentum.isFinite else { throw node.bad("momentum is \(b.momentum), must be finite") }
        return x
    }

    /// A negative running variance has no square root: the file is damaged, not just unusual.
    package func validateParameterValues(of node: Node) throws(GraphError) {
        let negative = runningVariance.values.withUnsafeBufferPointer { $0.firstIndex { $0 < 0 } }
        if let negative {
            throw .badParameter(
                node: node.name, tensor: runningVariance.name,
                message: "running variance of channel \(negative) is \(runningVariance.values[negative]), must be ≥ 0")
        }
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        "eps=\(sci(epsilon))" + (affine ? "" : " no-affine")
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_BatchNorm()
        o.scale = try e.ref(scale); o.bias = try e.ref(bias)
        o.runningMean = try e.ref(runningMean); o.runningVariance = try e.ref(runningVariance)
        o.epsilon = epsilon; o.momentum = momentum; o.affine = affine; o.numBatchesTracked = numBatchesTracked
        n.batchNorm = o
    }

    static func decode(_ b: Cnnconv_V1_BatchNorm, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .batchNorm(
            BatchNorm(
                scale: b.affine ? try d.tensor(b.scale, node: name, role: "scale") : nil,
                bias: b.affine ? try d.tensor(b.bias, node: name, role: "bias") : nil,
                runningMean: try d.tensor(b.runningMean, node: name, role: "running mean"),
                runningVariance: try d.tensor(b.runningVariance, node: name, role: "running variance"),
                epsilon: b.epsilon, momentum: b.momentum, numBatchesTracked: b.numBatchesTracked))
    }

    /// ONNX's momentum weighs the old running value (PyTorch's weighs the new batch): 1 − ours.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let c = channels
        let (scale, bias) = b.channelScaleAndBias(self.scale, self.bias, channels: c, node: n.name)
        let mean = b.param(runningMean, shape: [c]), variance = b.param(runningVariance, shape: [c])
        b.node(
            "BatchNormalization", n.name, [n.inputs.first ?? "", scale, bias, mean, variance], [n.output],
            attributes: [("epsilon", .float(epsilon)), ("momentum", .float(1 - momentum))])
    }
}
