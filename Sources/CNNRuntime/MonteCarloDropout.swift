// Monte Carlo dropout (Gal & Ghahramani 2016): N stochastic passes with dropout sampling on and
// BatchNorm on its running statistics; per-output mean and spread, and for softmax outputs the
// predictive entropy of the mean and the mutual information (BALD).
import CNNGraph
import CNNKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Per-output statistics of N Monte Carlo dropout passes. Accumulated in Float64.
public struct MonteCarloOutput: Sendable, Equatable {
    /// The graph output these statistics summarize.
    public var name: String
    /// Element-wise mean over the passes.
    public var mean: NDArray<Double>
    /// Element-wise population standard deviation over the passes (divides by N).
    public var standardDeviation: NDArray<Double>
    /// When the output is a softmax: −Σ p̄·ln p̄ of the mean probabilities along the softmax axis
    /// (nats), one value per distribution (the output shape without that axis). nil otherwise.
    public var predictiveEntropy: NDArray<Double>?
    /// When the output is a softmax: predictive entropy minus the mean per-pass entropy (the
    /// mutual information between prediction and weights, "BALD"). nil otherwise.
    public var mutualInformation: NDArray<Double>?
}

/// What `monteCarloDropout` returns: per-output statistics, with the sample count and seed
/// that reproduce them.
public struct MonteCarloResult: Sendable, Equatable {
    /// How many stochastic passes were averaged.
    public var samples: Int
    /// The seed of the masks' generator; with the same samples and passes per run it gives the
    /// same result.
    public var seed: UInt64
    /// Statistics per graph output, by output name.
    public var outputs: [String: MonteCarloOutput]
}

extension Executor {
    /// Runs the graph `samples` times in `.monteCarloDropout` mode. One generator seeded with
    /// `seed` runs through all passes, so the result depends on `seed`, `samples` and how many
    /// passes share a run. Outputs named in `logits` ([N, K] classifier logits) are turned into
    /// probabilities by a softmax over axis 1 in each pass, so that mean, spread and entropies
    /// are of probabilities.
    ///
    /// - Parameter passesPerRun: nil (the default): the nodes before the first dropout give
    ///   the same values in every pass, so they run once and each further pass runs the rest on
    ///   the values they left (the result is bit for bit that of one whole run per pass). 1: one whole run per pass.
    ///   k > 1: k passes computed as one batch of `k × batch` samples (each copy of the input
    ///   draws its own masks; `widePasses`), measured slower than the default with this
    ///   executor's per-sample convolutions (Benchmarks/io_bench.sh).
    public func monteCarloDropout(
        _ inputs: [String: NDArray<Scalar>], samples: Int,
        seed: UInt64 = 0, logits: Set<String> = [],
        passesPerRun: Int? = nil
    ) throws(RuntimeError) -> MonteCarloResult {
        guard samples >= 1 else { throw .invalidArgument("MC dropout needs at least 1 sample, got \(samples)") }
        return try monteCarloDropout(
            inputs, samples: samples, seed: seed, logits: logits,
            strategy: monteCarloStrategy(samples, passesPerRun: passesPerRun))
    }

    /// How the passes are run (see `passesPerRun`).
    enum MonteCarloStrategy {
        /// One whole run of `self` per pass.
        case separate
        /// One whole run, then steps `from...` per further pass, after the values those steps
        /// read from earlier ones are put back (a later step may have written over them: the
        /// plan shares buffers, and dropout runs in place).
        case reusePrefix(from: Int, reads: [String])
        /// Several passes per run of a wider plan.
        case wide(WidePasses<Scalar>)
    }

    /// Index of the first step that draws random numbers (a dropout): the steps before it
    /// compute the same values in every pass. `steps.count` when there is none.
    var firstStochasticStep: Int {
        steps.firstIndex { step in
            if case .dropout = graph.nodes[step.node].op { return true }
            return false
        } ?? steps.count
    }

    func monteCarloStrategy(_ samples: Int, passesPerRun: Int?) -> MonteCarloStrategy {
        if let passesPerRun {
            return passesPerRun > 1
                ? widePasses(samples, requested: passesPerRun).map { .wide($0) } ?? .separate : .separate
        }
        let first = firstStochasticStep
        guard samples > 1, first > 0 else { return .separate }
        // Values made before the boundary (or graph inputs) that nodes after it read.
        let boundary = first < steps.count ? steps[first].node : graph.nodes.count
        var madeBefore = Set(graph.inputs.map(\.name))
        for node in graph.nodes[..<boundary] { madeBefore.formUnion(node.outputs) }
        var reads: [String] = []
        for node in graph.nodes[boundary...] {
            for v in node.inputs where madeBefore.contains(v) && !reads.contains(v) { reads.append(v) }
        }
        return .reusePrefix(from: first, reads: reads)
    }

    func monteCarloDropout(
        _ inputs: [String: NDArray<Scalar>], samples: Int, seed: UInt64,
        logits: Set<String>, strategy: MonteCarloStrategy
    ) throws(RuntimeError) -> MonteCarloResult {
        guard samples >= 1 else { throw .invalidArgument("MC dropout needs at least 1 sample, got \(samples)") }
        let state = RunState(mode: .monteCarloDropout, generator: Xoshiro256StarStar(seed: seed))
        var accumulators: [String: MonteCarloAccumulator] = [:]
        for o in graph.outputs {
            let n = shapes[o.name]!.reduce(1, *)
            var axis: Int? = logits.contains(o.name) ? 1 : nil
            if let p = graph.producerIndex(of: o.name), case .softmax(let a) = graph.nodes[p].op {
                let rank = shapes[o.name]!.count
                axis = a < 0 ? a + rank : a
            }
            accumulators[o.name] = MonteCarloAccumulator(
                sum: .init(repeating: 0, count: n), squares: .init(repeating: 0, count: n),
                entropySum: [], softmaxAxis: axis)
        }
        var probabilities: [String: UnsafeMutablePointer<Scalar>] = [:]
        defer { for q in probabilities.values { q.deallocate() } }
        for name in logits {
            guard let shape = shapes[name], graph.outputs.contains(where: { $0.name == name }) else {
                throw .invalidArgument("'\(name)' is not an output of the graph")
            }
            guard shape.count >= 2 else {
                throw .invalidArgument("output '\(name)' has no class axis (shape \(shape)): it cannot be logits")
            }
            probabilities[name] = .allocate(capacity: shape.reduce(1, *))
        }
        // The wide executor's input is `group` copies of the batch, pass after pass; its output
        // rows p·batch ..< (p+1)·batch are pass p's, each with its own masks.
        let runner: Executor
        var group = 1, reuseFrom: Int? = nil, reads: [String] = []
        switch strategy {
        case .separate: runner = self
        case .reusePrefix(let from, let values): (runner, reuseFrom, reads) = (self, from, values)
        case .wide(let wide): (runner, group) = (wide.executor, wide.passes)
        }
        var saved: [(pointer: UnsafeMutablePointer<Scalar>, values: [Scalar])] = []
        let runInputs =
            group == 1
            ? inputs
            : inputs.mapValues { x in
                var shape = x.shape
                shape[0] *= group
                return NDArray(shape: shape, values: Array([[Scalar]](repeating: x.values, count: group).joined()))
            }
        var done = 0
        while done < samples {
            if let from = reuseFrom, done > 0 {
                for (pointer, values) in saved {
                    values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: $0.count) }
                }
                try runner.executeSteps(from..<runner.steps.count, state)
            } else if let from = reuseFrom {
                // The first pass stops at the boundary to keep what the later steps read.
                try runner.execute(runInputs, state, steps: 0..<from)
                saved = reads.compactMap { v in
                    guard let p = bufferOf[v], let shape = shapes[v] else { return nil }
                    return (p, Array(UnsafeBufferPointer(start: p, count: shape.reduce(1, *))))
                }
                try runner.executeSteps(from..<runner.steps.count, state)
            } else {
                try runner.execute(runInputs, state)
            }
            for pass in 0..<min(group, samples - done) {
                for o in graph.outputs {
                    guard var acc = accumulators[o.name], let whole = runner.readable[o.name] else { continue }
                    var p = whole + pass * acc.sum.count
                    if let q = probabilities[o.name] {
                        do { try softmax(input: p, output: q, shape: shapes[o.name]!, axis: 1) } catch {
                            throw .kernel(node: o.name, message: "softmax of the logits: \(error)")
                        }
                        p = q
                    }
                    for i in acc.sum.indices {
                        let v = Double(p[i])
                        acc.sum[i] += v
                        acc.squares[i] += v * v
                    }
                    if let axis = acc.softmaxAxis {
                        let e = Self.entropy(
                            UnsafeBufferPointer(start: p, count: acc.sum.count), shape: shapes[o.name]!, axis: axis)
                        if acc.entropySum.isEmpty {
                            acc.entropySum = e
                        } else {
                            for i in e.indices { acc.entropySum[i] += e[i] }
                        }
                    }
                    accumulators[o.name] = acc
                }
            }
            done += group
        }
        var outputs: [String: MonteCarloOutput] = [:]
        let n = Double(samples)
        for o in graph.outputs {
            guard let acc = accumulators[o.name] else { continue }
            let shape = shapes[o.name]!
            let mean = acc.sum.map { $0 / n }
            let std = zip(acc.squares, mean).map { (sq, m) in max(0, sq / n - m * m).squareRoot() }
            var entropy: NDArray<Double>? = nil, information: NDArray<Double>? = nil
            if let axis = acc.softmaxAxis {
                let h = mean.withUnsafeBufferPointer { Self.entropy($0, shape: shape, axis: axis) }
                var reduced = shape
                reduced.remove(at: axis)
                entropy = NDArray(shape: reduced, values: h)
                information = NDArray(shape: reduced, values: zip(h, acc.entropySum).map { max(0, $0 - $1 / n) })
            }
            outputs[o.name] = MonteCarloOutput(
                name: o.name, mean: NDArray(shape: shape, values: mean),
                standardDeviation: NDArray(shape: shape, values: std),
                predictiveEntropy: entropy, mutualInformation: information)
        }
        return MonteCarloResult(samples: samples, seed: seed, outputs: outputs)
    }

    /// −Σ p·ln p along `axis` (0·ln 0 = 0), one value per position of the other axes.
    static func entropy<S: BinaryFloatingPoint>(_ p: UnsafeBufferPointer<S>, shape: [Int], axis: Int) -> [Double] {
        let outer = shape[..<axis].reduce(1, *), length = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var out = [Double](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var h = 0.0
                for k in 0..<length {
                    let v = Double(p[(o * length + k) * inner + i])
                    if v > 0 { h -= v * log(v) }
                }
                out[o * inner + i] = h
            }
        }
        return out
    }
}

/// Running sums of one output over the passes.
struct MonteCarloAccumulator {
    var sum: [Double], squares: [Double], entropySum: [Double]
    let softmaxAxis: Int?
}

extension Executor {
    /// `monteCarloDropout` over any number of samples (axis 0 of `inputs`), fed in the runs of
    /// `batching` (this executor planned for `batching.runBatch`), each statistic put back
    /// together per sample. Run `i` uses seed `seed + i`; `passesPerRun` as in
    /// `monteCarloDropout(_:samples:seed:logits:passesPerRun:)`.
    public func monteCarloDropout(
        samples inputs: [String: NDArray<Scalar>], batching: SampleBatching, passes: Int,
        seed: UInt64 = 0, logits: Set<String> = [],
        passesPerRun: Int? = nil
    ) throws(RuntimeError) -> MonteCarloResult {
        guard passes >= 1 else { throw .invalidArgument("MC dropout needs at least 1 sample, got \(passes)") }
        let strategy = monteCarloStrategy(passes, passesPerRun: passesPerRun)
        var runs: [MonteCarloResult] = []
        for index in 0..<batching.runs {
            runs.append(
                try monteCarloDropout(
                    batching.slice(inputs, run: index), samples: passes, seed: seed &+ UInt64(index),
                    logits: logits, strategy: strategy))
        }
        var outputs: [String: MonteCarloOutput] = [:]
        for (name, first) in runs[0].outputs {
            let parts = runs.compactMap { $0.outputs[name] }
            outputs[name] = MonteCarloOutput(
                name: name, mean: batching.assemble(parts.map(\.mean)),
                standardDeviation: batching.assemble(parts.map(\.standardDeviation)),
                predictiveEntropy: first.predictiveEntropy.map { _ in
                    batching.assemble(parts.compactMap(\.predictiveEntropy))
                },
                mutualInformation: first.mutualInformation.map { _ in
                    batching.assemble(parts.compactMap(\.mutualInformation))
                })
        }
        return MonteCarloResult(samples: passes, seed: seed, outputs: outputs)
    }
}

/// An executor planned for `passes` copies of another's batch: that many Monte Carlo passes
/// run as one batch, which keeps the kernels' matrices wide and pays each node's fixed cost once.
struct WidePasses<Scalar: KernelScalar> {
    let executor: Executor<Scalar>
    let passes: Int
}

extension Executor {
    /// Samples one wide run may hold (passes × batch) unless asked for more.
    static var widePassSamples: Int { 32 }

    /// The executor for running up to `requested` (nil: `widePassSamples / batch`) of `samples`
    /// passes at once (`passesPerRun` > 1), or nil when one pass per run it is: a single pass, a graph whose inputs
    /// or outputs do not all carry the batch on axis 0, or no plan at two passes that fits the
    /// size limits. A graph that fixes its batch is planned with axis 0 of its inputs and outputs left open; the plan
    /// must then give every output the same shape with axis 0 multiplied (else a node depends on
    /// the batch, and the graph runs one pass at a time). Fewer passes are tried while a plan
    /// does not fit.
    func widePasses(_ samples: Int, requested: Int?) -> WidePasses<Scalar>? {
        var group = min(samples, requested ?? max(1, Self.widePassSamples / batch))
        guard group >= 2 else { return nil }
        for value in graph.inputs + graph.outputs where shapes[value.name]?.first != batch { return nil }
        var open = graph
        for i in open.inputs.indices { open.inputs[i].shape[0] = .symbol("mc-passes×N") }
        // Declared output shapes would pin the batch again; the computed ones are checked below.
        for i in open.outputs.indices where !open.outputs[i].shape.isEmpty {
            open.outputs[i].shape[0] = .symbol("mc-passes×N")
        }
        while group >= 2 {
            // As many runs as `group` needs, shared out evenly (33 passes: 17 + 16, not 32 + 1).
            let runs = (samples + group - 1) / group
            group = (samples + runs - 1) / runs
            if let executor = try? Executor(graph: open, batch: group * batch, threads: threads, limits: limits),
                graph.inputs.allSatisfy({ Self.multiplied(shapes[$0.name], group) == executor.shapes[$0.name] }),
                graph.outputs.allSatisfy({ Self.multiplied(shapes[$0.name], group) == executor.shapes[$0.name] })
            {
                return WidePasses(executor: executor, passes: group)
            }
            group /= 2
        }
        return nil
    }

    private static func multiplied(_ shape: [Int]?, _ factor: Int) -> [Int]? {
        guard var shape, !shape.isEmpty else { return nil }
        shape[0] *= factor
        return shape
    }
}
