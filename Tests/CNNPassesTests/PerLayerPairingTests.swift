// verify --per-layer pairs a folded model's values with the unfolded model's: no false
// divergence after an affine folded forward through a Flatten (docs/pypi-models.md finding 4)
// or after a conv → Add(bias) → BatchNorm chain folded into the conv (finding 5), and a real
// defect in the layer that absorbed the fold is still flagged there.
import CNNFixtures
import CNNGraph
import CNNPasses
import CNNVerify
import Testing

@Suite struct PerLayerPairingTests {
    /// conv → ReLU → ×0.8 (Paddle's inference-time dropout, imported as an affine) → Flatten → Linear.
    static func forwardScaled() throws -> Graph {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 11)
        let x = b.input("x", [.fixed(1), .fixed(4), .fixed(3), .fixed(3)])
        var y = b.add("conv", p.conv("conv", 4, 4, k: 1), x)
        y = b.add("relu", .activation(.relu), y)
        let keep = Tensor(name: "keep", shape: [4], values: [Float](repeating: 0.8, count: 4))
        let zero = Tensor(name: "zero", shape: [4], values: [Float](repeating: 0, count: 4))
        y = b.add("scale", .affine(Affine(scale: keep, shift: zero)), y)
        y = b.add("flat", .flatten(axis: 1), y)
        y = b.add("fc", p.linear("fc", 36, 5), y)
        b.output(y)
        return try b.build()
    }

    /// A conv (or ConvTranspose) whose bias is a separate per-channel Add, then a BatchNorm and a
    /// ReLU, as paddle2onnx writes PP-OCR's detection head.
    static func biasThenBatchNorm(transposed: Bool) throws -> Graph {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: transposed ? 13 : 12)
        let x = b.input("x", [.fixed(1), .fixed(4), .fixed(4), .fixed(4)])
        let conv: Op =
            transposed
            ? .convTranspose2d(
                ConvTranspose2d(weight: p.weight("up.weight", [4, 4, 2, 2]), window: Window2d(k: 2, s: 2)))
            : p.conv("conv", 4, 4, k: 2, bias: false)
        var y = b.add("c", conv, x)
        let one = Tensor(name: "one", shape: [4], values: [Float](repeating: 1, count: 4))
        y = b.add("bias", .affine(Affine(scale: one, shift: p.bias("bias.shift", 4))), y)
        y = b.add("bn", p.batchNorm("bn", 4), y)
        y = b.add("relu", .activation(.relu), y)
        b.output(y)
        return try b.build()
    }

    func perLayer(_ reference: Graph, _ candidate: Graph) throws -> VerifyReport {
        var options = VerifyOptions()
        options.samples = 2
        options.perLayer = true
        return try Verifier.verify(reference: reference, candidate: candidate, options: options)
    }

    /// `graph` with the weights of node `name` along its first axis' first slice scaled by 1.01
    /// (a corrupted output channel; a ConvTranspose's input channel).
    func corrupted(_ graph: Graph, node name: String) throws -> Graph {
        var g = graph
        let i = try #require(g.nodes.firstIndex { $0.name == name })
        func bumped(_ t: Tensor) -> Tensor {
            var v = t.array
            for j in 0..<(v.count / t.shape[0]) { v[j] *= 1.01 }
            return Tensor(name: t.name, shape: t.shape, values: v)
        }
        switch g.nodes[i].op {
        case .conv2d(var c): c.weight = bumped(c.weight); g.nodes[i].op = .conv2d(c)
        case .convTranspose2d(var c): c.weight = bumped(c.weight); g.nodes[i].op = .convTranspose2d(c)
        case .linear(var l): l.weight = bumped(l.weight); g.nodes[i].op = .linear(l)
        default: Issue.record("\(name) has no weight")
        }
        return g
    }

    @Test func anAffineFoldedForwardThroughAFlattenIsNoDivergence() throws {
        let reference = try Self.forwardScaled()
        let folded = try FoldPasses.fold(reference).graph
        #expect(folded.node(named: "scale") == nil && folded.node(named: "flat") != nil)
        let report = try perLayer(reference, folded)
        #expect(report.passed)
        let layers = try #require(report.layers)
        // The Flatten's output lacks the ×0.8 by design: it is not paired; the Linear's is, and passes.
        #expect(!layers.contains { $0.candidate == "flat" })
        #expect(layers.contains { $0.candidate == "fc" && $0.passed })
        #expect(report.firstDivergence == nil, "\(layers.filter { !$0.passed }.map(\.candidate))")
    }

    @Test func aDefectInTheLayerThatAbsorbedAForwardFoldIsFlaggedThere() throws {
        let reference = try Self.forwardScaled()
        let broken = try corrupted(try FoldPasses.fold(reference).graph, node: "fc")
        let report = try perLayer(reference, broken)
        #expect(!report.passed)
        #expect(report.firstDivergence == "fc")
    }

    @Test(arguments: [false, true])
    func aConvBiasAddBatchNormChainPairsTheConvWithTheBatchNormOutput(_ transposed: Bool) throws {
        let reference = try Self.biasThenBatchNorm(transposed: transposed)
        let folded = try FoldPasses.fold(reference).graph
        #expect(!folded.nodes.contains { $0.op.kindName == "BatchNorm" || $0.op.kindName == "Affine" })
        let report = try perLayer(reference, folded)
        #expect(report.passed)
        let layers = try #require(report.layers)
        let conv = try #require(layers.first { $0.candidate == "c" })
        #expect(conv.reference == "bn" && conv.passed)
        #expect(report.firstDivergence == nil, "\(layers.filter { !$0.passed }.map(\.candidate))")
    }

    @Test(arguments: [false, true])
    func aDefectInTheConvOfAFoldedChainIsFlaggedAtTheConv(_ transposed: Bool) throws {
        let reference = try Self.biasThenBatchNorm(transposed: transposed)
        let broken = try corrupted(try FoldPasses.fold(reference).graph, node: "c")
        let report = try perLayer(reference, broken)
        #expect(!report.passed)
        #expect(report.firstDivergence == "c")
    }

    @Test func theFoldReportNamesAffinesAndDirection() throws {
        let forward = try FoldPasses.fold(try Self.forwardScaled()).reports.flatMap(\.lines)
        let scale = try #require(forward.first { $0.node == "scale" && $0.action == .folded })
        #expect(scale.op == "Affine" && scale.forward == true && scale.target == "fc")
        let chain = try FoldPasses.fold(try Self.biasThenBatchNorm(transposed: false)).reports.flatMap(\.lines)
        let bias = try #require(chain.first { $0.node == "bias" && $0.action == .folded })
        let bn = try #require(chain.first { $0.node == "bn" && $0.action == .folded })
        #expect(bias.op == "Affine" && bias.forward == nil && bias.target == "c")
        #expect(bn.op == "BatchNorm" && bn.forward == nil && bn.target == "c")
    }
}
