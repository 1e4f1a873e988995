// Feeding any number of samples to a graph whatever its batch dimension: fixed at 1 (most ONNX
// files in the wild), fixed at N, or symbolic. Samples are cut into runs the graph accepts, the
// last run padded with copies of the last sample, and outputs are put back together with the
// padding dropped. `run`, `verify`, `fold`'s check and MC dropout all feed inputs through here.
import CNNGraph
import CNNKernels

/// How `samples` samples (axis 0 of every input) are split into executor runs.
public struct SampleBatching: Sendable, Equatable {
    /// Samples given in all.
    public let samples: Int
    /// Samples per executor run: the graph's fixed batch, or the symbolic batch chosen so that
    /// runs are as equal as possible and at most the preferred size.
    public let runBatch: Int
    /// Whether the graph fixes its batch (then a short last run is padded); symbolic batches are
    /// padded the same way so that one plan serves every run.
    public let fixedBatch: Bool
    /// Number of executor runs.
    public var runs: Int { (samples + runBatch - 1) / runBatch }

    /// The batch every run has when the graph fixes it, nil when it is symbolic. Every input
    /// must agree: axis 0 of each is either a fixed N (the same N for all) or a symbol.
    public static func fixedBatch(of graph: Graph) throws(RuntimeError) -> Int? {
        var fixed: Int? = nil, symbolic = false
        for input in graph.inputs {
            switch input.shape.first {
            case .fixed(let n)?:
                if let f = fixed, f != n {
                    throw .invalidArgument(
                        "inputs disagree on the batch: '\(input.name)' has \(n) on axis 0, another input \(f)")
                }
                fixed = n
            case .symbol?: symbolic = true
            case nil:
                throw .invalidArgument("input '\(input.name)' is a scalar: it has no batch axis to feed samples on")
            }
        }
        if let f = fixed, symbolic {
            throw .invalidArgument("inputs disagree on the batch: some fix it at \(f), others leave it symbolic")
        }
        return fixed
    }

    /// - Parameters:
    ///   - samples: samples to feed (≥ 1).
    ///   - preferredBatch: the largest run a symbolic batch may take (default 32); ignored when
    ///     the graph fixes its batch.
    public init(graph: Graph, samples: Int, preferredBatch: Int? = nil) throws(RuntimeError) {
        guard samples >= 1 else { throw .invalidArgument("at least one sample is needed, got \(samples)") }
        if let p = preferredBatch, p < 1 { throw .invalidArgument("the batch must be at least 1, got \(p)") }
        self.samples = samples
        if let n = try Self.fixedBatch(of: graph) {
            guard n >= 1 else { throw .invalidArgument("the graph fixes its batch at \(n)") }
            runBatch = n
            fixedBatch = true
        } else {
            let most = min(samples, preferredBatch ?? 32)
            let runs = (samples + most - 1) / most
            runBatch = (samples + runs - 1) / runs
            fixedBatch = false
        }
    }

    /// The first `runs` runs of this batching: the samples they hold, the same run batch.
    public func prefix(runs count: Int) -> SampleBatching {
        SampleBatching(samples: min(samples, max(1, count) * runBatch), runBatch: runBatch, fixedBatch: fixedBatch)
    }

    init(samples: Int, runBatch: Int, fixedBatch: Bool) {
        self.samples = samples; self.runBatch = runBatch; self.fixedBatch = fixedBatch
    }

    /// The samples of run `index`: where they start and how many are real (the rest of the run
    /// is padding).
    public func run(_ index: Int) -> (start: Int, count: Int) {
        let start = index * runBatch
        return (start, min(runBatch, samples - start))
    }

    /// Run `index`'s slice of `inputs` (samples on axis 0), padded to `runBatch` samples with
    /// copies of the last real one.
    public func slice<S: KernelScalar>(_ inputs: [String: NDArray<S>], run index: Int) -> [String: NDArray<S>] {
        let (start, count) = run(index)
        return inputs.mapValues { x in
            let per = x.count / max(1, x.shape[0])
            var values = Array(x.values[(start * per)..<((start + count) * per)])
            if count < runBatch {
                let last = values[((count - 1) * per)..<(count * per)]
                for _ in count..<runBatch { values += last }
            }
            var shape = x.shape
            shape[0] = runBatch
            return NDArray(shape: shape, values: values)
        }
    }

    /// Puts one output back together from its runs, in order. An output whose axis 0 is the run
    /// batch is per-sample: padding rows are dropped and the result has `samples` rows. Any
    /// other output (a scalar, or axis 0 not the batch) keeps every run whole, stacked on axis 0.
    public func assemble<S: KernelScalar>(_ parts: [NDArray<S>]) -> NDArray<S> {
        guard let first = parts.first else { return NDArray(shape: [0], values: []) }
        if first.shape.first == runBatch {
            let per = first.count / runBatch
            var values: [S] = []
            values.reserveCapacity(samples * per)
            for (i, part) in parts.enumerated() { values += part.values[0..<(run(i).count * per)] }
            var shape = first.shape
            shape[0] = samples
            return NDArray(shape: shape, values: values)
        }
        var shape = first.shape.isEmpty ? [1] : first.shape
        shape[0] *= parts.count
        return NDArray(shape: shape, values: parts.flatMap(\.values))
    }

    /// Seeded standard-normal inputs: `samples` samples of each graph input's per-sample shape
    /// (its declared shape without axis 0), samples on axis 0.
    public static func randomInputs<S: KernelScalar>(
        for graph: Graph, samples: Int, seed: UInt64,
        as _: S.Type = S.self
    ) -> [String: NDArray<S>] {
        var generator = Xoshiro256StarStar(seed: seed)
        var out: [String: NDArray<S>] = [:]
        for input in graph.inputs {
            var shape = input.concreteShape(batch: 1)
            if shape.isEmpty { shape = [1] }
            shape[0] = samples
            out[input.name] = NDArray(shape: shape, values: generator.standardNormals(shape.reduce(1, *)).map { S($0) })
        }
        return out
    }
}

extension Executor {
    /// Runs every sample of `inputs` (samples on axis 0) through this executor, which must be
    /// planned for `batching.runBatch`, and returns each graph output put back together.
    /// `progress` is called before each run with (run index, runs).
    public func run(
        samples inputs: [String: NDArray<Scalar>], batching: SampleBatching, mode: ExecutionMode = .eval,
        seed: UInt64 = 0, progress: ((Int, Int) -> Void)? = nil
    ) throws(RuntimeError) -> [String: NDArray<Scalar>] {
        try runParts(samples: inputs, batching: batching, mode: mode, seed: seed, progress: progress)
            .mapValues { batching.assemble($0) }
    }

    /// As `run(samples:…)`, each output left as its runs' results (for `SampleBatching.assemble`).
    /// Run `i` draws its dropout masks from seed `seed + i`.
    public func runParts(
        samples inputs: [String: NDArray<Scalar>], batching: SampleBatching, mode: ExecutionMode = .eval,
        seed: UInt64 = 0, progress: ((Int, Int) -> Void)? = nil
    ) throws(RuntimeError) -> [String: [NDArray<Scalar>]] {
        var parts: [String: [NDArray<Scalar>]] = [:]
        for index in 0..<batching.runs {
            progress?(index, batching.runs)
            let result = try run(batching.slice(inputs, run: index), mode: mode, seed: seed &+ UInt64(index))
            for (name, value) in result.outputs { parts[name, default: []].append(value) }
        }
        return parts
    }
}
