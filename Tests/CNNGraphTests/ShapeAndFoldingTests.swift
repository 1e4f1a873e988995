// Shape arithmetic against the formulas in PyTorch's documentation, and the BN/dropout plans.
import CNNFixtures
import CNNGraph
import Testing

@Suite struct ShapeInferenceTests {
    @Test func convOutputFollowsTheFormula() {
        // H_out = floor((H + pads − dilation·(k − 1) − 1)/stride) + 1: (224 + 6 − 6 − 1)/2 + 1 = 112.
        #expect(Window2d(k: 7, s: 2, p: 3).outputSize(inputH: 224, inputW: 224)! == (112, 112))
        // Asymmetric: H: (9 + 0 + 2 − 2 − 1)/2 + 1 = 5; W: (11 + 1 + 1 − 2 − 1)/1 + 1 = 11.
        let w = Window2d(kernel: (3, 2), stride: (2, 1), dilation: (1, 2), padding: (0, 1, 2, 1))
        #expect(w.outputSize(inputH: 9, inputW: 11)! == (5, 11))
        #expect(Window2d(k: 5).outputSize(inputH: 3, inputW: 3) == nil)
    }

    @Test func ceilModeDropsAWindowThatStartsInThePadding() {
        // PyTorch: MaxPool2d(3, 2, padding=1, ceil_mode=True) on 5 → 3; on 6 → 4 (not 5).
        #expect(Window2d(k: 3, s: 2, p: 1).outputSize(inputH: 5, inputW: 6, ceilMode: true)! == (3, 4))
        #expect(Window2d(k: 2, s: 2).outputSize(inputH: 5, inputW: 5, ceilMode: true)! == (3, 3))
        #expect(Window2d(k: 2, s: 2).outputSize(inputH: 5, inputW: 5, ceilMode: false)! == (2, 2))
    }

    @Test func convTransposeOutput() {
        // (H − 1)·stride − pads + dilation·(k − 1) + output_padding + 1 = 7·2 − 2 + 2 + 1 + 1 = 16.
        let t = ConvTranspose2d(
            weight: Tensor(name: "w", shape: [4, 2, 3, 3], values: [Float](repeating: 0, count: 72)),
            window: Window2d(k: 3, s: 2, p: 1), outputPadding: (1, 1))
        #expect(t.outputSize(inputH: 8, inputW: 8)! == (16, 16))
    }

    @Test func fixtureShapesAtBatchFour() throws {
        let shapes = try FixtureModels.mixedOps().inferShapes(batch: 4)
        #expect(shapes["dw2"] == [4, 16, 8, 8])
        #expect(shapes["up4"] == [4, 12, 16, 16])
        #expect(shapes["flatten"] == [4, 12])
        #expect(shapes["softmax"] == [4, 10])
        let every = try FixtureModels.everyOp().inferShapes(batch: 2)
        #expect(every["conv_asym"] == [2, 8, 5, 11])
        #expect(every["avgpool"] == [2, 8, 3, 6])
        #expect(every["up_linear"] == [2, 16, 9, 18])
    }
}

@Suite struct FoldingAnalysisTests {
    @Test func resnetBatchNormsFoldExceptAfterTheAdd() throws {
        let a = FoldingAnalysis(try FixtureModels.residual())
        #expect(a.batchNorm["layer1.0.bn1"] == .intoProducer(node: "layer1.0.conv1"))
        #expect(a.batchNorm["layer2.0.down.bn"] == .intoProducer(node: "layer2.0.down.conv"))
        guard case .affine(let reason)? = a.batchNorm["post.bn"] else {
            Issue.record("post.bn should stay an affine"); return
        }
        #expect(reason.contains("layer2.0.relu2"))
    }

    @Test func aSharedProducerOutputBlocksFolding() throws {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 1)
        let x = b.input("x", [.fixed(1), .fixed(4), .fixed(6), .fixed(6)])
        let conv = b.add("conv", p.conv("conv", 4, 4, k: 3, p: 1), x)
        let bn = b.add("bn", p.batchNorm("bn", 4), conv)
        let sum = b.add("add", .add, bn, conv)
        b.output(sum)
        let a = FoldingAnalysis(try b.build())
        guard case .affine(let reason)? = a.batchNorm["bn"] else {
            Issue.record("folded a BN whose conv output is shared"); return
        }
        #expect(reason.contains("also feeds add"))
    }

    @Test func aProducerThatIsAGraphOutputBlocksFolding() throws {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 2)
        let x = b.input("x", [.fixed(1), .fixed(8)])
        let fc = b.add("fc", p.linear("fc", 8, 4), x)
        let bn = b.add("bn", p.batchNorm("bn", 4), fc)
        b.output(bn)
        b.output(fc)
        guard case .affine(let reason)? = FoldingAnalysis(try b.build()).batchNorm["bn"] else {
            Issue.record("folded"); return
        }
        #expect(reason.contains("graph output"))
    }

    /// conv → Add(bias, an affine) → BatchNorm: the affine folds into the conv, and so does the
    /// BatchNorm after it (what the fold passes do, one per round), so inspect says so too.
    @Test func aBatchNormAfterAFoldingAffineFoldsIntoTheSameLayer() throws {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 5)
        let x = b.input("x", [.fixed(1), .fixed(4), .fixed(6), .fixed(6)])
        var y = b.add("conv", p.conv("conv", 4, 4, k: 3, bias: false), x)
        let one = Tensor(name: "one", shape: [4], values: [Float](repeating: 1, count: 4))
        y = b.add("bias", .affine(Affine(scale: one, shift: p.bias("shift", 4))), y)
        let bn = b.add("bn", p.batchNorm("bn", 4), y)
        y = b.add("relu", .activation(.relu), bn)
        b.output(y)
        let g = try b.build()
        let a = FoldingAnalysis(g)
        #expect(a.batchNorm["bias"] == .intoProducer(node: "conv"))
        #expect(a.batchNorm["bn"] == .intoProducer(node: "conv"))
        let report = try InspectionReport(graph: g)
        #expect(report.batchNorm.first { $0.node == "bn" }?.target == "conv")
        #expect(report.nodes.first { $0.name == "bias" }?.notes == ["folds into conv"])
        // The affine's output also read elsewhere: the BatchNorm stays, and says why.
        var shared = b
        shared.output("bias")
        guard case .affine(let reason)? = FoldingAnalysis(try shared.build()).batchNorm["bn"] else {
            Issue.record("folded a BatchNorm whose input is also a graph output"); return
        }
        #expect(reason.contains("bias folds into conv") && reason.contains("graph output"))
    }

    @Test func batchNormBeforeALinearFoldsForward() throws {
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 3)
        let x = b.input("x", [.fixed(1), .fixed(8), .fixed(2), .fixed(2)])
        var y = b.add("bn", p.batchNorm("bn", 8), x)
        y = b.add("flat", .flatten(axis: 1), y)
        y = b.add("drop", .dropout(Dropout(rate: 0.3)), y)
        y = b.add("fc", p.linear("fc", 32, 3), y)
        b.output(y)
        let a = FoldingAnalysis(try b.build())
        #expect(a.batchNorm["bn"] == .intoConsumer(node: "fc", through: ["flat", "drop"]))
        #expect(a.dropout["drop"] == .remove)
    }

    @Test func classicDropoutPlans() throws {
        let a = FoldingAnalysis(try FixtureModels.mixedOps())
        #expect(a.dropout["drop_in"] == .scaleConsumer(node: "conv1", keep: 0.8))
        #expect(a.dropout["drop_fc"] == .scaleConsumer(node: "fc2", keep: 0.5))
        #expect(a.dropout["drop2"] == .remove)
        // Classic dropout before a pool (no conv after it): scale the producer through ReLU.
        var b = GraphBuilder()
        var p = ParameterFactory(seed: 4)
        let x = b.input("x", [.fixed(1), .fixed(3), .fixed(4), .fixed(4)])
        var y = b.add("conv", p.conv("conv", 3, 4, k: 1), x)
        y = b.add("relu", .activation(.relu), y)
        y = b.add("drop", .dropout(Dropout(rate: 0.5, convention: .classic)), y)
        y = b.add("gap", .globalPool(.average), y)
        b.output(y)
        #expect(
            FoldingAnalysis(try b.build()).dropout["drop"] == .scaleProducer(node: "conv", keep: 0.5, through: ["relu"])
        )
    }
}
