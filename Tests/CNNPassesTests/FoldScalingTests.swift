// Folding time grows linearly with the number of BatchNorms: 20,000 conv-BN pairs (40,000
// nodes) fold in a fraction of a second in release. Planning one fold per analysis was
// quadratic (1,000 pairs 9.5 s, 2,000 pairs 29 s in release); this many pairs would have taken
// most of an hour, so the generous deadline below cannot be met by that code.
import CNNFixtures
import CNNGraph
import CNNPasses
import Testing

@Suite struct FoldScalingTests {
    @Test func twentyThousandConvBatchNormPairsFoldInOneSweep() throws {
        var b = GraphBuilder(name: "bn-chain")
        var p = ParameterFactory(seed: 5)
        var x = b.input("x", [.symbol("N"), .fixed(2), .fixed(2), .fixed(2)])
        let pairs = 20_000
        for i in 0..<pairs {
            x = b.add("conv\(i)", p.conv("conv\(i)", 2, 2, k: 1), x)
            x = b.add("bn\(i)", p.batchNorm("bn\(i)", 2), x)
        }
        b.output(x)
        let graph = try b.build()
        let clock = ContinuousClock()
        let start = clock.now
        let folded = try FoldPasses.fold(graph).graph
        let elapsed = clock.now - start
        #expect(folded.nodes.count == pairs)
        #expect(!folded.nodes.contains { $0.op.kindName == "BatchNorm" })
        #expect(elapsed < .seconds(120), "folding \(pairs) pairs took \(elapsed)")
    }

    @Test func twentyThousandDropoutsFoldInOneSweep() throws {
        var b = GraphBuilder(name: "dropout-chain")
        var p = ParameterFactory(seed: 6)
        var x = b.input("x", [.symbol("N"), .fixed(3)])
        let count = 20_000
        for i in 0..<count {
            // Alternating conventions: inverted ones are removed, classic ones scale the linear after.
            x = b.add("drop\(i)", .dropout(Dropout(rate: 0.5, convention: i % 2 == 0 ? .inverted : .classic)), x)
            x = b.add("fc\(i)", p.linear("fc\(i)", 3, 3), x)
        }
        b.output(x)
        let clock = ContinuousClock()
        let start = clock.now
        let folded = try FoldPasses.fold(try b.build()).graph
        let elapsed = clock.now - start
        #expect(folded.nodes.count == count)
        #expect(!folded.nodes.contains { $0.op.kindName == "Dropout" || $0.op.kindName == "Identity" })
        #expect(elapsed < .seconds(120), "folding \(count) dropouts took \(elapsed)")
    }
}
