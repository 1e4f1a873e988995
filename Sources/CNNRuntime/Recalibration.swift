// BatchNorm recalibration from data: run the model over calibration samples with every BatchNorm
// on its batch statistics and dropout on its inference rule, and replace each BatchNorm's running
// statistics by the exact mean and unbiased variance of everything it saw. Fixes statistics that
// do not fit inference (tracked over small or varying batches, or from pre-training data).
// PyTorch's `torch.optim.swa_utils.update_bn` (momentum=None) does the same job with a cumulative
// average of the per-batch means and unbiased variances: the same mean when batches are equal in
// size, a variance that leaves out the spread between batch means. Here the parts are pooled
// exactly (Chan's rule), so the answer does not depend on the batch size.
//
// What each BatchNorm sees: in this mode every BatchNorm normalizes its input with the statistics
// of the current batch, so a BatchNorm downstream of another sees inputs normalized per batch, not
// by the final running statistics (as in update_bn, which runs the model in train mode). The first
// BatchNorm's statistics are exact whatever the batch split; later ones depend on the batch size
// through that per-batch normalization (little, for batches of tens of samples). Unlike update_bn,
// dropout is off (identity, or ×keep for classic dropout) so the statistics match inference.
import CNNGraph
import CNNKernels

/// Per-channel count, mean and sum of squared deviations from the mean (M2) of a BatchNorm's
/// input, in Float64. Parts are merged with Chan, Golub & LeVeque's parallel rule, so the result
/// is the same (within Float64 rounding) however the samples were split into batches.
public struct ChannelMoments: Sendable, Equatable {
    /// Values per channel (samples × spatial positions).
    public var count: Int
    /// Per-channel mean.
    public var mean: [Double]
    /// Per-channel Σ(x − mean)², kept instead of the variance so parts merge exactly.
    public var m2: [Double]

    /// Moments from parts already computed (tests and callers merging their own batches).
    public init(count: Int, mean: [Double], m2: [Double]) { self.count = count; self.mean = mean; self.m2 = m2 }

    /// Σ(x − mean)²/(count − 1): what a running variance holds (nil below 2 values).
    public var unbiasedVariance: [Double]? { count >= 2 ? m2.map { $0 / Double(count - 1) } : nil }

    /// Adds another part's moments (same channels).
    public mutating func merge(_ other: ChannelMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let na = Double(count), nb = Double(other.count), n = na + nb
        for c in mean.indices {
            let delta = other.mean[c] - mean[c]
            mean[c] += delta * nb / n
            m2[c] += other.m2[c] + delta * delta * na * nb / n
        }
        count += other.count
    }

    /// The moments of the first `rows` samples of an NCHW-like buffer (two passes per channel).
    static func of<S: KernelScalar>(_ shape: Shape4D, _ x: UnsafePointer<S>, rows: Int) -> ChannelMoments {
        let c = shape.channels, plane = shape.spatial
        let n = max(0, min(rows, shape.batch)) * plane
        var mean = [Double](repeating: 0, count: c), m2 = [Double](repeating: 0, count: c)
        guard n > 0 else { return ChannelMoments(count: 0, mean: mean, m2: m2) }
        for ch in 0..<c {
            var sum = 0.0
            for r in 0..<(n / plane) {
                let p = x + (r * c + ch) * plane
                for i in 0..<plane { sum += Double(p[i]) }
            }
            let mu = sum / Double(n)
            var squares = 0.0
            for r in 0..<(n / plane) {
                let p = x + (r * c + ch) * plane
                for i in 0..<plane { let d = Double(p[i]) - mu; squares += d * d }
            }
            mean[ch] = mu
            m2[ch] = squares
        }
        return ChannelMoments(count: n, mean: mean, m2: m2)
    }
}

/// Collects each BatchNorm's input moments during recalibration runs (the executor calls `add`).
final class BatchNormMomentCollector {
    /// Real samples in the current run (the rest is padding of a graph with a fixed batch).
    var rows: Int
    var moments: [String: ChannelMoments] = [:]
    init(rows: Int) { self.rows = rows }

    func add<S: KernelScalar>(node: String, shape: Shape4D, input: UnsafePointer<S>) {
        let part = ChannelMoments.of(shape, input, rows: rows)
        if moments[node] == nil { moments[node] = part } else { moments[node]!.merge(part) }
    }
}

/// How far one BatchNorm's statistics moved, per channel c with σ = √(variance + ε).
public struct BatchNormShift: Sendable, Codable, Equatable {
    /// The BatchNorm node, by name.
    public var node: String
    /// Number of channels compared.
    public var channels: Int
    /// Values each channel's new statistics were computed from (samples × spatial positions).
    public var valuesPerChannel: Int
    /// Whether `valuesPerChannel` is below the threshold asked for (the statistics are noisy).
    public var fewValues: Bool
    /// max over channels of the 2-Wasserstein distance between N(μ_old, σ_old²) and N(μ_new, σ_new²)
    /// in units of σ_old: √((μ_new − μ_old)² + (σ_new − σ_old)²)/σ_old. The table's sort key.
    public var maxShift: Double
    /// The same distance averaged over channels.
    public var meanShift: Double
    /// max over channels of |μ_new − μ_old|/σ_old.
    public var maxMeanChange: Double
    /// The smallest and largest σ_new/σ_old over channels.
    public var minScaleRatio: Double
    /// The largest σ_new/σ_old over channels: above 1, a channel's spread grew.
    public var maxScaleRatio: Double
    public var oldMean: [Double], newMean: [Double], oldVariance: [Double], newVariance: [Double]

    init(
        node: String, epsilon: Double, valuesPerChannel: Int, fewValues: Bool,
        old: (mean: [Double], variance: [Double]), new: (mean: [Double], variance: [Double])
    ) {
        self.node = node
        channels = old.mean.count
        self.valuesPerChannel = valuesPerChannel
        self.fewValues = fewValues
        oldMean = old.mean; oldVariance = old.variance; newMean = new.mean; newVariance = new.variance
        var shifts: [Double] = [], meanChanges: [Double] = [], ratios: [Double] = []
        for c in 0..<channels {
            let so = (old.variance[c] + epsilon).squareRoot(), sn = (new.variance[c] + epsilon).squareRoot()
            let dm = new.mean[c] - old.mean[c], ds = sn - so
            shifts.append((dm * dm + ds * ds).squareRoot() / so)
            meanChanges.append(abs(dm) / so)
            ratios.append(sn / so)
        }
        maxShift = shifts.max() ?? 0
        meanShift = shifts.reduce(0, +) / Double(max(1, channels))
        maxMeanChange = meanChanges.max() ?? 0
        minScaleRatio = ratios.min() ?? 1
        maxScaleRatio = ratios.max() ?? 1
    }
}

/// What `Recalibration.recalibrate` did.
public struct RecalibrationReport: Sendable, Codable, Equatable {
    /// Samples the statistics were computed from (axis 0 of the inputs).
    public var samples: Int
    /// Samples per executor run (the graph's fixed batch, or the batch chosen).
    public var runBatch: Int
    /// Executor runs it took.
    public var runs: Int
    /// Copies of the last sample that filled the last run of a graph with a fixed batch. They
    /// take part in that run's batch normalization but not in the statistics collected.
    public var paddedSamples: Int
    /// Per BatchNorm, sorted by `maxShift`, largest first.
    public var batchNorms: [BatchNormShift]
    /// The threshold below which a BatchNorm counts as having seen too few values per channel.
    public var minimumValuesPerChannel: Int
}

/// How `Recalibration.recalibrate` runs: the run batch, the threads, and the threshold below
/// which a BatchNorm's statistics are flagged as noisy.
public struct RecalibrationOptions: Sendable {
    /// The largest run for a graph with a symbolic batch (ignored when the graph fixes it).
    public var batch: Int = 64
    /// Threads the kernels use.
    public var threads: Int = KernelThreads.defaultCount
    /// BatchNorms whose channels saw fewer values than this are flagged.
    public var minimumValuesPerChannel: Int = 100
    /// The defaults: runs of up to 64 samples, every core, 100 values per channel.
    public init() {}
}

/// Recomputing BatchNorm running statistics from data (after pruning, quantization or a
/// domain shift, as torch.optim.swa_utils.update_bn does) and measuring how far they moved.
public enum Recalibration {
    /// Metadata the recalibrated file carries (`inspect` shows them).
    public static let samplesKey = InspectionReport.recalibratedSamplesKey
    /// Metadata key: the batch size the statistics were collected at.
    public static let batchKey = "cnnconv.recalibrate.batch"
    /// Metadata key: how many BatchNorms were recalibrated.
    public static let batchNormsKey = "cnnconv.recalibrate.batchnorms"

    /// `graph` with every BatchNorm's running mean and variance recomputed over all samples of
    /// `inputs` (samples on axis 0 of each graph input), and a report of how far each moved.
    /// `numBatchesTracked` becomes the number of runs (as update_bn leaves it).
    public static func recalibrate<S: KernelScalar>(
        _ graph: Graph, inputs: [String: NDArray<S>],
        options: RecalibrationOptions = RecalibrationOptions()
    )
        throws(RuntimeError) -> (graph: Graph, report: RecalibrationReport)
    {
        let batchNorms = graph.nodes.compactMap { node -> (String, BatchNorm)? in
            if case .batchNorm(let bn) = node.op { return (node.name, bn) } else { return nil }
        }
        guard !batchNorms.isEmpty else { throw .invalidArgument("the graph has no BatchNorm to recalibrate") }
        guard let samples = inputs.values.first?.shape.first, samples >= 1 else {
            throw .invalidArgument("no calibration samples given")
        }
        for (name, x) in inputs where x.shape.first != samples {
            throw .invalidArgument(
                "input '\(name)' has \(x.shape.first ?? 0) samples on axis 0, another input \(samples)")
        }
        let batching = try SampleBatching(graph: graph, samples: samples, preferredBatch: options.batch)
        let executor = try Executor<S>(graph: graph, batch: batching.runBatch, threads: options.threads)
        let collector = BatchNormMomentCollector(rows: 0)
        var padded = 0
        var lastExecutor: Executor<S>? = nil
        for index in 0..<batching.runs {
            let (_, count) = batching.run(index)
            var slice = batching.slice(inputs, run: index)
            var runner = executor
            if count < batching.runBatch {
                if batching.fixedBatch {
                    padded = batching.runBatch - count
                } else {
                    // A symbolic batch: run the short last part at its own size, without padding.
                    slice = slice.mapValues { x in
                        var shape = x.shape
                        shape[0] = count
                        return NDArray(shape: shape, values: Array(x.values[0..<(x.count / batching.runBatch * count)]))
                    }
                    if lastExecutor == nil {
                        lastExecutor = try Executor<S>(graph: graph, batch: count, threads: options.threads)
                    }
                    runner = lastExecutor!
                }
            }
            collector.rows = count
            try runner.runCollectingMoments(slice, collector)
        }

        var out = graph
        var shifts: [BatchNormShift] = []
        for i in out.nodes.indices {
            guard case .batchNorm(var bn) = out.nodes[i].op else { continue }
            let name = out.nodes[i].name
            guard let m = collector.moments[name], let variance = m.unbiasedVariance else {
                throw .invalidArgument(
                    "BatchNorm '\(name)' saw fewer than 2 values per channel; give more samples or a larger --batch")
            }
            let old = (Parameters.doubles(bn.runningMean), Parameters.doubles(bn.runningVariance))
            shifts.append(
                BatchNormShift(
                    node: name, epsilon: bn.epsilon, valuesPerChannel: m.count,
                    fewValues: m.count < options.minimumValuesPerChannel,
                    old: old, new: (m.mean, variance)))
            bn.runningMean = Tensor(
                name: bn.runningMean.name, shape: bn.runningMean.shape,
                values: m.mean.map(Float.init), storage: bn.runningMean.storage)
            bn.runningVariance = Tensor(
                name: bn.runningVariance.name, shape: bn.runningVariance.shape,
                values: variance.map(Float.init), storage: bn.runningVariance.storage)
            bn.numBatchesTracked = UInt64(batching.runs)
            out.nodes[i].op = .batchNorm(bn)
        }
        out.metadata[samplesKey] = String(samples)
        out.metadata[batchKey] = String(batching.runBatch)
        out.metadata[batchNormsKey] = String(shifts.count)
        shifts.sort { $0.maxShift > $1.maxShift || ($0.maxShift == $1.maxShift && $0.node < $1.node) }
        let report = RecalibrationReport(
            samples: samples, runBatch: batching.runBatch, runs: batching.runs,
            paddedSamples: padded, batchNorms: shifts,
            minimumValuesPerChannel: options.minimumValuesPerChannel)
        return (out, report)
    }
}

extension Executor {
    /// One run with BatchNorm on batch statistics and dropout on its eval rule, each BatchNorm's
    /// input moments over the collector's real rows added to `collector`.
    func runCollectingMoments(_ inputs: [String: NDArray<Scalar>], _ collector: BatchNormMomentCollector)
        throws(RuntimeError)
    {
        let state = RunState(mode: .train, generator: Xoshiro256StarStar(seed: 0))
        state.moments = collector
        try execute(inputs, state)
    }
}
