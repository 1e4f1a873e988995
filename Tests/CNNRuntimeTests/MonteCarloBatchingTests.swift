import CNNGraph
import CNNKernels
import CNNTestSupport
import Foundation
import Testing

// MC dropout without repeating work (issue 13): the steps before the first dropout run once
// (bit-identical to whole runs), or passes run as one wide batch; each pass draws its own masks,
// the statistics mean what one-run-per-pass statistics mean, results are seeded, and graphs that
// fix their batch are widened too.
@testable import CNNRuntime

@Suite("MC dropout in one batch")
struct MonteCarloBatchingTests {
    /// x [1, 1, 1, 64] (batch fixed at 1) → inverted dropout p = 0.5: every value is 0 or 2.
    static func dropoutGraph() throws -> Graph {
        try chain(
            [1, 1, 1, 64], [("drop", .dropout(Dropout(rate: 0.5, convention: .inverted, granularity: .element)))])
    }
    static let ones = ["x": NDArray<Float>(shape: [1, 1, 1, 64], repeating: 1)]

    @Test func passesShareOneRunWhenTheGraphFixesItsBatch() throws {
        let exec = try Executor<Float>(graph: try Self.dropoutGraph())
        let wide = try #require(exec.widePasses(32, requested: 32))
        #expect(wide.passes == 32)
        #expect(wide.executor.shapes["drop"] == [32, 1, 1, 64])
        #expect(exec.widePasses(32, requested: 1) == nil)
        #expect(exec.widePasses(1, requested: nil) == nil)
        // 33 passes are shared out evenly: two runs of 17.
        #expect(exec.widePasses(33, requested: 32)?.passes == 17)
    }

    /// The rows of one wide run are different passes: two rows agree on an element's mask with
    /// probability 1/2 when independent (1 if the masks were shared). 31 neighbouring row pairs ×
    /// 64 elements: Binomial(1984, 1/2), mean 992, σ ≈ 22.
    @Test func eachPassInTheBatchDrawsItsOwnMask() throws {
        let exec = try Executor<Float>(graph: try Self.dropoutGraph())
        let wide = try #require(exec.widePasses(32, requested: 32))
        let x = ["x": NDArray<Float>(shape: [32, 1, 1, 64], repeating: 1)]
        let y = try #require(try wide.executor.run(x, mode: .monteCarloDropout, seed: 4).outputs["drop"])
        #expect(y.values.allSatisfy { $0 == 0 || $0 == 2 })
        var agree = 0
        for row in 0..<31 {
            for e in 0..<64 where y.values[row * 64 + e] == y.values[(row + 1) * 64 + e] { agree += 1 }
        }
        #expect(abs(agree - 992) <= 5 * 22)
    }

    /// Batched and one-pass-per-run MC dropout estimate the same thing: per element mean 1 and
    /// standard deviation 1 (values 0 or 2 with probability 1/2). Over 64 elements × 256 passes
    /// the grand mean has σ = 1/128; the mean of the per-element spreads is within a few 0.01.
    @Test func batchedAndSequentialPassesAgreeStatistically() throws {
        let exec = try Executor<Float>(graph: try Self.dropoutGraph())
        for passesPerRun in [1, 32, nil] as [Int?] {
            let r = try exec.monteCarloDropout(Self.ones, samples: 256, seed: 2, passesPerRun: passesPerRun)
            let out = try #require(r.outputs["drop"])
            let mean = out.mean.values.reduce(0, +) / 64
            let spread = out.standardDeviation.values.reduce(0, +) / 64
            #expect(abs(mean - 1) <= 5.0 / 128, "passesPerRun \(String(describing: passesPerRun))")
            #expect(abs(spread - 1) <= 0.05, "passesPerRun \(String(describing: passesPerRun))")
        }
    }

    @Test func batchedPassesAreSeeded() throws {
        let exec = try Executor<Float>(graph: try Self.dropoutGraph())
        for passesPerRun in [32, nil] as [Int?] {
            let a = try exec.monteCarloDropout(Self.ones, samples: 40, seed: 7, passesPerRun: passesPerRun)
            #expect(try exec.monteCarloDropout(Self.ones, samples: 40, seed: 7, passesPerRun: passesPerRun) == a)
            #expect(try exec.monteCarloDropout(Self.ones, samples: 40, seed: 8, passesPerRun: passesPerRun) != a)
        }
    }

    /// Without dropout every pass is the eval pass, so the batched mean is the eval output
    /// exactly and the spread zero: the rows of a wide run are put back per pass and sample.
    @Test func batchedPassesKeepSamplesApart() throws {
        var weights: [Float] = []
        for i in 0..<12 { weights.append(Float(i % 5) - 2) }
        let graph = try chain([3, 4], [("fc", .linear(Linear(weight: tensor("w", [3, 4], weights))))])
        let exec = try Executor<Double>(graph: graph, batch: 3)
        let x = ["x": NDArray<Double>(shape: [3, 4], values: (0..<12).map { Double($0) * 0.5 - 2 })]
        #expect(exec.widePasses(7, requested: 7)?.passes == 7)
        let mc = try #require(try exec.monteCarloDropout(x, samples: 7, seed: 1, passesPerRun: 7).outputs["fc"])
        let eval = try #require(try exec.run(x).outputs["fc"])
        #expect(mismatch(mc.mean.values, eval.values, atol: 1e-15) == nil)
        #expect(mc.standardDeviation.values.allSatisfy { $0 < 1e-9 })
    }

    /// conv → ReLU → dropout → linear: the conv and ReLU run once, every pass reruns the rest,
    /// and the result is bit for bit that of one whole run per pass (same generator draws) —
    /// also when the model's own plan shares buffers (dropout writes over the ReLU's output).
    /// With oneDNN the conv and its ReLU are one step (a post-op), so the dropout is step 1.
    @Test(arguments: [ConvBackend.native, .oneDNN])
    func theDeterministicPrefixRunsOnceWithTheSameResult(_ backend: ConvBackend) throws {
        try ConvBackend.$current.withValue(backend) {
            try deterministicPrefix(firstDropoutStep: backend == .native ? 2 : 1)
        }
    }

    func deterministicPrefix(firstDropoutStep: Int) throws {
        var weights: [Float] = []
        for i in 0..<(4 * 2 * 3 * 3) { weights.append(Float((i * 7) % 11) / 11 - 0.5) }
        let graph = try chain(
            [2, 2, 5, 5],
            [
                (
                    "conv",
                    .conv2d(
                        Conv2d(
                            weight: tensor("cw", [4, 2, 3, 3], weights), bias: nil, window: Window2d(k: 3, s: 1, p: 1)))
                ),
                ("relu", .activation(.relu)),
                ("drop", .dropout(Dropout(rate: 0.3, convention: .inverted, granularity: .element))),
                ("flat", .flatten(axis: 1)),
                ("fc", .linear(Linear(weight: tensor("fw", [3, 100], (0..<300).map { Float($0 % 13) / 13 - 0.5 })))),
            ])
        let exec = try Executor<Float>(graph: graph, batch: 2)
        #expect(exec.firstStochasticStep == firstDropoutStep)
        guard case .reusePrefix(let from, let reads) = exec.monteCarloStrategy(9, passesPerRun: nil) else {
            Issue.record("the prefix is not reused"); return
        }
        // The dropout reads the ReLU's output, and runs in place over it: it is put back each pass.
        #expect(from == firstDropoutStep && reads == ["relu"])
        var rng = TestRandom(5)
        let x = ["x": NDArray<Float>(shape: [2, 2, 5, 5], values: (0..<100).map { _ in Float(rng.uniform()) })]
        let reused = try exec.monteCarloDropout(x, samples: 9, seed: 3)
        let whole = try exec.monteCarloDropout(x, samples: 9, seed: 3, passesPerRun: 1)
        #expect(reused == whole)
        #expect(reused.outputs["fc"]!.standardDeviation.values.contains { $0 > 0 })
        // Without any dropout there is nothing to rerun: one run, no spread.
        #expect(try Executor<Float>(graph: try chain([1, 3], [("id", .identity)])).firstStochasticStep == 1)
    }
}
