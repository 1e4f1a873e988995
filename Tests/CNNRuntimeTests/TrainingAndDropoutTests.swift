// Train mode and dropout at graph level: BatchNorm on a hand-computed example with the
// running-statistics update; dropout's dropped fraction within statistical bounds, same mask for
// the same seed, expectation preserved (inverted), classic rules, channel-wise dropout; MC dropout.
import CNNGraph
import CNNRuntime
import Foundation
import Testing

@Suite("Train mode, dropout and MC dropout")
struct TrainingAndDropoutTests {
    /// Two channels, N = 2, H = 1, W = 2: channel 0 holds 1, 2, 3, 4 and channel 1 holds 2, 2, 2, 6.
    static let x = NDArray<Double>(shape: [2, 2, 1, 2], values: [1, 2, 2, 2, 3, 4, 2, 6])

    static func bnGraph(momentum: Double = 0.1) throws -> Graph {
        try chain(
            [2, 2, 1, 2],
            [
                (
                    "bn",
                    .batchNorm(
                        BatchNorm(
                            scale: tensor("g", [2], [2, 0.5]), bias: tensor("b", [2], [0.5, -1]),
                            runningMean: tensor("m", [2], [0, 1]), runningVariance: tensor("v", [2], [1, 4]),
                            epsilon: 0, momentum: momentum, numBatchesTracked: 7))
                )
            ])
    }

    @Test func batchNormTrainModeByHand() throws {
        let graph = try Self.bnGraph()
        let r = try Executor<Double>(graph: graph, batch: 2).run(["x": Self.x], mode: .train)
        // Channel 0: mean 2.5, biased variance 1.25, unbiased 5/3. Channel 1: mean 3, biased 3, unbiased 4.
        let y = try #require(r.outputs["bn"])
        let a0 = 2 / 1.25.squareRoot(), a1 = 0.5 / 3.0.squareRoot()
        let expected = [
            a0 * (1 - 2.5) + 0.5, a0 * (2 - 2.5) + 0.5, a1 * (2 - 3) - 1, a1 * (2 - 3) - 1,
            a0 * (3 - 2.5) + 0.5, a0 * (4 - 2.5) + 0.5, a1 * (2 - 3) - 1, a1 * (6 - 3) - 1,
        ]
        #expect(mismatch(y.values, expected, atol: 1e-14) == nil)
        let s = try #require(r.batchNormStatistics["bn"])
        #expect(mismatch(s.batchMean, [2.5, 3], atol: 1e-15) == nil)
        #expect(mismatch(s.batchVariance, [1.25, 3], atol: 1e-15) == nil)
        #expect(mismatch(s.unbiasedBatchVariance, [5.0 / 3, 4], atol: 1e-15) == nil)
        // running = 0.9·running + 0.1·batch (unbiased variance).
        #expect(mismatch(s.runningMean, [0.25, 0.9 + 0.3], atol: 1e-15) == nil)
        #expect(mismatch(s.runningVariance, [0.9 + 1.0 / 6, 3.6 + 0.4], atol: 1e-15) == nil)

        let updated = graph.updatingBatchNormStatistics(r.batchNormStatistics)
        guard case .batchNorm(let bn) = updated.nodes[0].op else { Issue.record("not a BN"); return }
        #expect(bn.runningMean.array == [0.25, 1.2].map(Float.init))
        #expect(bn.runningVariance.array == [Float(0.9 + 1.0 / 6), 4])
        #expect(bn.numBatchesTracked == 8)
        // Eval mode uses the running statistics, and the updated graph its new ones.
        let e = try Executor<Double>(graph: updated, batch: 2).run(["x": Self.x]).outputs["bn"]!
        #expect(abs(e.values[0] - (2 * (1 - 0.25) / Double(Float(0.9 + 1.0 / 6)).squareRoot() + 0.5)) < 1e-6)
        // Float32 train mode agrees.
        let f = try Executor<Float>(graph: graph, batch: 2).run(["x": Self.x.converted(to: Float.self)], mode: .train)
        #expect(mismatch(f.outputs["bn"]!.values, expected, atol: 1e-6) == nil)
    }

    @Test func monteCarloModeKeepsRunningStatistics() throws {
        let graph = try Self.bnGraph()
        let exec = try Executor<Double>(graph: graph, batch: 2)
        let eval = try exec.run(["x": Self.x]).outputs["bn"]
        let mc = try exec.run(["x": Self.x], mode: .monteCarloDropout, seed: 9)
        #expect(mc.outputs["bn"] == eval)
        #expect(mc.batchNormStatistics.isEmpty)
    }

    static func dropoutGraph(
        _ shape: [Int], rate: Double, _ convention: Dropout.Convention,
        _ granularity: Dropout.Granularity = .element
    ) throws -> Graph {
        try chain(shape, [("drop", .dropout(Dropout(rate: rate, convention: convention, granularity: granularity)))])
    }

    @Test(arguments: [0.1, 0.3, 0.5, 0.9])
    func invertedDropoutStatistics(rate: Double) throws {
        let shape = [2, 4, 50, 50], n = 20_000.0
        let exec = try Executor<Float>(graph: try Self.dropoutGraph(shape, rate: rate, .inverted))
        let ones = NDArray<Float>(shape: shape, repeating: 1)
        let y = try exec.run(ones, mode: .train, seed: 42)
        let dropped = Double(y.values.filter { $0 == 0 }.count)
        // Binomial(n, p): within 5 standard deviations.
        let sigma = (n * rate * (1 - rate)).squareRoot()
        #expect(abs(dropped - n * rate) <= 5 * sigma, "dropped \(dropped) of \(n) at p = \(rate)")
        // Kept units are scaled by 1/keep, so the mean stays 1 (within 5 standard errors).
        let keep = 1 - rate
        #expect(y.values.allSatisfy { $0 == 0 || abs(Double($0) - 1 / keep) < 1e-6 })
        let mean = y.values.reduce(0.0) { $0 + Double($1) } / n
        let se = (rate / keep / n).squareRoot()
        #expect(abs(mean - 1) <= 5 * se, "mean \(mean)")
        // Same seed, same mask; another seed, another mask; eval is the identity.
        #expect(try exec.run(ones, mode: .train, seed: 42) == y)
        #expect(try exec.run(ones, mode: .train, seed: 43) != y)
        #expect(try exec.run(ones) == ones)
    }

    @Test func classicDropout() throws {
        let shape = [1, 2, 40, 40]
        let exec = try Executor<Double>(graph: try Self.dropoutGraph(shape, rate: 0.25, .classic))
        var r = TestRandom(5)
        let x: NDArray<Double> = r.array(shape, Double.self, 1, 2)
        // Eval multiplies by keep = 0.75 ("halve the outgoing weights" for p = 0.5).
        #expect(mismatch(try exec.run(x).values, x.values.map { 0.75 * $0 }, atol: 1e-15) == nil)
        // Train keeps values unscaled.
        let y = try exec.run(x, mode: .train, seed: 1)
        #expect(zip(y.values, x.values).allSatisfy { $0 == 0 || $0 == $1 })
        #expect(y.values.contains(0))
    }

    @Test func channelDropoutDropsWholeFeatureMaps() throws {
        let shape = [4, 64, 5, 3]
        let exec = try Executor<Float>(graph: try Self.dropoutGraph(shape, rate: 0.5, .inverted, .channel))
        let y = try exec.run(NDArray(shape: shape, repeating: 1), mode: .train, seed: 8)
        var droppedMaps = 0
        for p in 0..<(4 * 64) {
            let plane = y.values[(p * 15)..<((p + 1) * 15)]
            #expect(plane.allSatisfy { $0 == 0 } || plane.allSatisfy { $0 == 2 })
            if plane.first == 0 { droppedMaps += 1 }
        }
        #expect(abs(Double(droppedMaps) - 128) <= 5 * 8)  // Binomial(256, 0.5): σ = 8
    }

    @Test func monteCarloDropoutMeanAndSpread() throws {
        // One unit through inverted dropout p = 0.5: each pass gives 0 or 2 (mean 1, std 1).
        let exec = try Executor<Float>(graph: try Self.dropoutGraph([1, 1, 1, 1], rate: 0.5, .inverted))
        let x = ["x": NDArray<Float>(shape: [1, 1, 1, 1], repeating: 1)]
        let r = try exec.monteCarloDropout(x, samples: 400, seed: 1)
        let out = try #require(r.outputs["drop"])
        #expect(abs(out.mean.values[0] - 1) <= 5 * 1 / 20)
        #expect(abs(out.standardDeviation.values[0] - 1) <= 0.05)
        #expect(out.predictiveEntropy == nil)
        #expect(try exec.monteCarloDropout(x, samples: 400, seed: 1) == r)
        #expect(throws: RuntimeError.self) { try exec.monteCarloDropout(x, samples: 0) }
    }

    @Test func monteCarloDropoutPredictiveEntropy() throws {
        var r = TestRandom(3)
        let w = (0..<(4 * 6)).map { _ in Float(r.uniform(-2, 2)) }
        let graph = try chain(
            [2, 6],
            [
                ("drop", .dropout(Dropout(rate: 0.3))),
                ("fc", .linear(Linear(weight: tensor("w", [4, 6], w)))),
                ("softmax", .softmax(axis: 1)),
            ])
        let exec = try Executor<Double>(graph: graph, batch: 2)
        let x = ["x": r.array([2, 6], Double.self)]
        let mc = try exec.monteCarloDropout(x, samples: 64, seed: 5)
        let out = try #require(mc.outputs["softmax"])
        let entropy = try #require(out.predictiveEntropy), info = try #require(out.mutualInformation)
        #expect(entropy.shape == [2] && info.shape == [2])
        for n in 0..<2 {
            let p = Array(out.mean.values[(n * 4)..<((n + 1) * 4)])
            #expect(abs(p.reduce(0, +) - 1) < 1e-12)
            let h = -p.reduce(0.0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            #expect(abs(entropy.values[n] - h) < 1e-12)
            #expect(info.values[n] >= 0 && info.values[n] <= h)
        }
        #expect(out.standardDeviation.values.contains { $0 > 0 })
        // Without dropout every pass is the eval pass: no spread, no mutual information.
        let deterministic = try chain(
            [2, 6], [("fc", .linear(Linear(weight: tensor("w", [4, 6], w)))), ("softmax", .softmax(axis: -1))])
        let e = try Executor<Double>(graph: deterministic, batch: 2)
        let d = try #require(try e.monteCarloDropout(x, samples: 5).outputs["softmax"])
        #expect(d.standardDeviation.values.allSatisfy { $0 < 1e-9 })
        #expect(mismatch(d.mean.values, try e.run(x).outputs["softmax"]!.values, atol: 1e-15) == nil)
        #expect(d.mutualInformation!.values.allSatisfy { abs($0) < 1e-12 })
    }
}
