// Folding over random graphs and parameters: the folded graph has no BatchNorm where folding
// is possible, and its outputs match the unfolded graph's as closely as Float32 allows.
import CNNFixtures
import CNNGraph
import CNNPasses
import CNNRuntime
import CNNVerify
import Testing

/// A random conv/linear → BN stack exercising every fold case.
struct RandomFoldCase: CustomStringConvertible {
    var graph: Graph
    var description: String

    static func make(seed: UInt64) throws -> RandomFoldCase {
        var r = SeededRandom(seed: seed)
        var p = ParameterFactory(seed: seed &* 7919)
        func pick<T>(_ xs: [T]) -> T { xs[Int(r.uniform() * Double(xs.count)) % xs.count] }
        var b = GraphBuilder(name: "random\(seed)")
        let groups = pick([1, 2, 3])
        let cin = groups * pick([1, 2, 3])
        let size = pick([5, 7, 9])
        var x = b.input("x", [.symbol("N"), .fixed(cin), .fixed(size), .fixed(size + 2)])
        var notes: [String] = []

        /// A BN with ε from 1e-5 to 1e-1 and variances down to 1e-6 or up to 1e4.
        func bn(_ name: String, _ channels: Int) -> Op {
            let epsilon = pick([1e-5, 1e-3, 1e-1])
            let affine = r.uniform() < 0.7
            guard case .batchNorm(var n) = p.batchNorm(name, channels, epsilon: epsilon, affine: affine) else {
                return .identity
            }
            let regime = pick(["tiny", "huge", "normal"])
            let variance = (0..<channels).map { _ -> Float in
                switch regime {
                case "tiny": return Float(1e-6 * (1 + r.uniform()))
                case "huge": return Float(1e4 * (1 + r.uniform()))
                default: return Float(0.05 + 3 * r.uniform())
                }
            }
            n.runningVariance = Tensor(name: n.runningVariance.name, shape: [channels], values: variance)
            notes.append("\(name) ε=\(epsilon) \(regime) affine=\(affine)")
            return .batchNorm(n)
        }

        // 1. Grouped / depthwise conv with stride and dilation, bias or not.
        let c1 = groups * pick([2, 3])
        let dilation = pick([1, 2])
        let window = Window2d(
            kernel: (3, 3), stride: (pick([1, 2]), 1), dilation: (dilation, dilation),
            padding: (1, pick([0, 1]), pick([0, 1, 2]), 1))
        let hasBias = r.uniform() < 0.5
        x = b.add(
            "conv1",
            .conv2d(
                Conv2d(
                    weight: p.weight("conv1.weight", [c1, cin / groups, 3, 3]),
                    bias: hasBias ? p.bias("conv1.bias", c1) : nil, window: window, groups: groups)), x)
        x = b.add("bn1", bn("bn1", c1), x)
        x = b.add("relu1", .activation(.relu), x)
        notes.append("conv1 \(cin)→\(c1) g\(groups) d\(dilation) bias=\(hasBias)")
        // 2. ConvTranspose with groups and unequal in/out channels.
        let tGroups = pick([1, c1 % 2 == 0 ? 2 : 1])
        let tOut = tGroups * pick([1, 2, 3])
        let t = ConvTranspose2d(
            weight: p.weight("up.weight", [c1, tOut / tGroups, 2, 3]),
            bias: r.uniform() < 0.5 ? p.bias("up.bias", tOut) : nil,
            window: Window2d(kernel: (2, 3), stride: (2, 2), padding: (0, 1, 0, 1)), groups: tGroups,
            outputPadding: (1, 0))
        x = b.add("up", .convTranspose2d(t), x)
        x = b.add("bn2", bn("bn2", tOut), x)
        x = b.add("act2", .activation(.leakyRelu(alpha: 0.1)), x)
        notes.append("up \(c1)→\(tOut) g\(tGroups)")
        // 3. Unpadded conv after a BN: folds forward.
        x = b.add("bn3", bn("bn3", tOut), x)
        x = b.add("conv3", p.conv("conv3", tOut, 4, k: 1), x)
        x = b.add("gap", .globalPool(.average), x)
        x = b.add("flat", .flatten(axis: 1), x)
        // 4. Linear + BatchNorm1d, and a BN folding forward into the head.
        x = b.add("fc1", p.linear("fc1", 4, 6, bias: r.uniform() < 0.5), x)
        x = b.add("bn_fc1", bn("bn_fc1", 6), x)
        x = b.add("tanh", .activation(.tanh), x)
        x = b.add("bn_head", bn("bn_head", 6), x)
        x = b.add("drop", .dropout(Dropout(rate: 0.3, convention: r.uniform() < 0.5 ? .classic : .inverted)), x)
        x = b.add("fc2", p.linear("fc2", 6, 5), x)
        b.output(x)
        return RandomFoldCase(graph: try b.build(), description: "seed \(seed): " + notes.joined(separator: "; "))
    }
}

@Suite struct FoldPropertyTests {
    @Test(arguments: 0..<40)
    func foldingRandomGraphsKeepsTheirOutputs(_ seed: Int) throws {
        let c = try RandomFoldCase.make(seed: UInt64(seed))
        let result = try FoldPasses.fold(c.graph)
        let kinds = result.graph.nodes.map(\.op.kindName)
        #expect(!kinds.contains("BatchNorm"), "\(c)")
        #expect(!kinds.contains("Dropout"), "\(c)")
        #expect(!kinds.contains("Affine"), "every BN here has a conv/linear to fold into: \(c)")
        var options = VerifyOptions()
        options.samples = 4
        options.seed = UInt64(seed)
        let report = try Verifier.verify(reference: c.graph, candidate: result.graph, options: options)
        let output = try #require(report.outputs.first)
        let budget = try #require(output.float32Error)
        // Folding may add no more error than Float32 arithmetic already has (×4), nor more
        // than 1e-6 of the output's scale.
        let scale = max(1, abs(output.error.referenceValue))
        #expect(
            output.error.maxAbsError <= max(4 * budget.maxAbsError, 1e-6 * scale),
            "\(c): folded error \(output.error.maxAbsError), f32 error \(budget.maxAbsError)")
        #expect(output.error.argmaxAgreement == output.error.rows)
    }

    @Test func foldingTwiceIsANoOpThatSaysSo() throws {
        let folded = try FoldPasses.fold(try FixtureModels.smallCNN())
        #expect(!folded.wasAlreadyFolded)
        #expect(folded.graph.appliedPasses.contains("fold-batchnorm"))
        let again = try FoldPasses.fold(folded.graph)
        #expect(again.wasAlreadyFolded)
        #expect(again.graph == folded.graph)
    }

    @Test func foldingRoundsOnceFromFloat64() throws {
        // One channel, one weight: the folded weight must be the f64 product rounded once.
        var b = GraphBuilder()
        let x = b.input("x", [.fixed(1), .fixed(1), .fixed(1), .fixed(1)])
        let w: Float = 0.1, gamma: Float = 3, variance: Float = 0.7, mean: Float = 0.2, beta: Float = -0.4
        var y = b.add(
            "conv",
            .conv2d(Conv2d(weight: Tensor(name: "w", shape: [1, 1, 1, 1], values: [w]), window: Window2d(k: 1))), x)
        y = b.add(
            "bn",
            .batchNorm(
                BatchNorm(
                    scale: Tensor(name: "g", shape: [1], values: [gamma]),
                    bias: Tensor(name: "b", shape: [1], values: [beta]),
                    runningMean: Tensor(name: "m", shape: [1], values: [mean]),
                    runningVariance: Tensor(name: "v", shape: [1], values: [variance]), epsilon: 1e-5)), y)
        b.output(y)
        let folded = try FoldPasses.fold(try b.build()).graph
        guard case .conv2d(let conv) = folded.nodes[0].op else { Issue.record("conv expected"); return }
        let s = Double(gamma) / (Double(variance) + 1e-5).squareRoot()
        #expect(conv.weight.values[0] == Float(Double(w) * s))
        #expect(conv.bias?.values[0] == Float((0 - Double(mean)) * s + Double(beta)))
        // f16 storage: rounded straight from f64 to f16.
        let half = try FoldPasses.fold(try b.build(), options: FoldOptions(storage: .float16)).graph
        guard case .conv2d(let h) = half.nodes[0].op else { return }
        #expect(h.weight.values[0] == Float(Float16(Double(w) * s)))
    }
}

@Suite struct FoldRefusalTests {
    func fold(_ build: (inout GraphBuilder, inout ParameterFactory) -> Void) throws -> FoldResult {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 11)
        build(&b, &p)
        return try FoldPasses.fold(try b.build())
    }

    @Test func aConvWhoseOutputAlsoFeedsAnAddKeepsItsBatchNormAsAnAffine() throws {
        let r = try fold { b, p in
            let x = b.input("x", [.fixed(1), .fixed(4), .fixed(6), .fixed(6)])
            let conv = b.add("conv", p.conv("conv", 4, 4, k: 3, p: 1), x)
            let bn = b.add("bn", p.batchNorm("bn", 4), conv)
            b.output(b.add("add", .add, bn, conv))
        }
        #expect(r.graph.node(named: "bn")?.op.kindName == "Affine")
        let line = r.reports.flatMap(\.lines).first { $0.node == "bn" && $0.action == .converted }
        #expect(line?.detail.contains("also feeds add") == true, "\(String(describing: line))")
    }

    @Test func aConvWhoseOutputIsAModelOutputKeepsItsBatchNormAsAnAffine() throws {
        let r = try fold { b, p in
            let x = b.input("x", [.fixed(1), .fixed(4), .fixed(6), .fixed(6)])
            let conv = b.add("conv", p.conv("conv", 4, 4, k: 3, p: 1), x)
            let bn = b.add("bn", p.batchNorm("bn", 4), conv)
            b.output(bn)
            b.output(conv)
        }
        #expect(r.graph.node(named: "bn")?.op.kindName == "Affine")
        let line = r.reports.flatMap(\.lines).first { $0.node == "bn" && $0.action == .converted }
        #expect(line?.detail.contains("graph output") == true)
    }

    @Test func aPaddedConvAfterABatchNormIsNotFoldedForward() throws {
        let r = try fold { b, p in
            let x = b.input("x", [.fixed(1), .fixed(3), .fixed(6), .fixed(6)])
            let bn = b.add("bn", p.batchNorm("bn", 3), x)
            b.output(b.add("conv", p.conv("conv", 3, 4, k: 3, p: 1), bn))
        }
        #expect(r.graph.node(named: "bn")?.op.kindName == "Affine")
        #expect(r.reports.flatMap(\.lines).contains { $0.node == "bn" && $0.detail.contains("pads with zeros") })
    }

    @Test func affineChainsMerge() throws {
        // Two BNs on the graph input (no producer, and padded convs after): one affine.
        let r = try fold { b, p in
            let x = b.input("x", [.fixed(1), .fixed(3), .fixed(6), .fixed(6)])
            let a = b.add("bn_a", p.batchNorm("bn_a", 3), x)
            let c = b.add("bn_b", p.batchNorm("bn_b", 3), a)
            b.output(b.add("conv", p.conv("conv", 3, 4, k: 3, p: 1), c))
        }
        #expect(r.graph.nodes.map(\.op.kindName) == ["Affine", "Conv2d"])
        #expect(r.reports.flatMap(\.lines).contains { $0.action == .merged })
    }

    @Test func unknownPassesAreRefusedByName() {
        #expect(throws: PassError.unknownPass("fold-everything", known: FoldPasses.names)) {
            try FoldPasses.pipeline(["fold-everything"])
        }
    }
}
