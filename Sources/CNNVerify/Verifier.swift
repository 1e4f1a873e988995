// Runs a reference and a candidate graph (unfolded and folded) on the same inputs in eval mode
// and reports, per output, how far apart they are — beside how far the reference's own Float32
// arithmetic is from Float64, so a user sees whether folding added error.
import CNNFormat
import CNNGraph
import CNNKernels
import CNNRuntime
import Foundation

/// What to compare on and by which rule; the defaults are the tool's, so that a program and
/// `cnnconv verify` judge alike.
public struct VerifyOptions: Sendable {
    /// Random samples when no inputs are given.
    public var samples = 8
    /// Seeds the random inputs: the same seed gives the same inputs, so a failure can be reproduced.
    public var seed: UInt64 = 0
    /// Largest number of samples per executor run when the graph's batch is symbolic (default
    /// 32); a fixed batch is always fed as it is.
    public var batch: Int?
    /// The verdict's rule (default: as close to Float64 as the reference itself is).
    public var rule = VerificationRule.default
    /// Samples that also run in Float64 — the verdict is taken on them (default: all). The
    /// Float64 run is the expensive part; fewer samples keep a deep model's check in seconds.
    public var float64Samples: Int?
    /// The element type the candidate's weights were rounded to, which sets the reference's
    /// budget; nil: the narrowest storage among the candidate's parameters.
    public var candidateStorage: StorageFormat.ElementType?
    /// Also compare every intermediate value present in both graphs, to find where errors start.
    public var perLayer = false
    /// Also run the reference in Float64 under an `allclose` rule (the error budget shown beside
    /// it); the default rule always does.
    public var errorBudget = true
    /// Inputs by name, samples on axis 0; overrides `samples`.
    public var inputs: [String: NDArray<Float>]?
    /// Class labels, one per sample, for top-1 accuracy of both models.
    public var labels: [Int]?
    /// Kernel threads for both executors (passed in, not a process-wide setting).
    public var threads = KernelThreads.defaultCount
    /// Called with a line of progress text ("reference f64: run 2/4").
    public var progress: (@Sendable (String) -> Void)?
    /// The tool's defaults: 8 random samples, the default rule, all threads.
    public init() {}
}

/// Everything a verification measured, per output and optionally per layer: the CLI renders it and
/// `--json` is its encoding, so a reader never re-runs the models to get a number.
public struct VerifyReport: Codable, Sendable {
    /// One graph output's comparison.
    public struct Output: Codable, Sendable {
        /// The output's name in the graph.
        public var name: String
        /// Its shape at the compared batch, so indices in the statistics can be read.
        public var shape: [Int]
        /// Candidate (folded) vs reference (unfolded), both Float32.
        public var error: ErrorStatistics
        /// Reference in Float32 vs reference in Float64: the error Float32 itself brings.
        public var float32Error: ErrorStatistics?
        /// The default rule's verdict (nil under `allclose`).
        public var verdict: Verdict?
        /// Whether the output met the rule: the report passes only if every output does.
        public var passed: Bool
    }
    /// One intermediate value's comparison (`perLayer`), to locate where two graphs start to differ.
    public struct Layer: Codable, Sendable {
        /// The value compared, by its name in the candidate and in the reference graph.
        public var candidate: String
        /// The value's name in the reference graph.
        public var reference: String
        /// Largest |candidate − reference| on this value.
        public var maxAbsError: Double
        /// Largest relative error on this value.
        public var maxRelError: Double
        /// Under the default rule: the same test as the outputs', on this value.
        public var margin: Double?
        /// Under the default rule, the same test as the outputs'; under allclose, every element within tolerance.
        public var passed: Bool
        /// Why the value was compared specially (an op folded away, a rescaled value), when it was.
        public var note: String?
        /// Mean |candidate − reference| (both Float32), for plots.
        public var meanAbsError: Double?
        /// Under the default rule: the candidate's and the Float32 reference's largest error
        /// against Float64, and the largest the verdict allows (for plots).
        public var float64MaxError: Double?
        /// The Float32 reference's largest error against Float64 on this value (the budget).
        public var budgetMaxError: Double?
        /// The largest error the verdict allows on this value (factor × budget + floor).
        public var allowedMaxError: Double?
    }
    /// Top-1 accuracy of both models on labelled inputs: the measure a user cares about in the end.
    public struct Accuracy: Codable, Sendable {
        /// Labelled samples scored.
        public var samples: Int
        /// Samples the reference model classified correctly.
        public var referenceCorrect: Int
        /// Samples the candidate model classified correctly.
        public var candidateCorrect: Int
        /// Samples whose predicted class differs between the two models.
        public var changedPredictions: Int
        /// The reference's top-1 accuracy in [0, 1].
        public var referenceTop1: Double { Double(referenceCorrect) / Double(max(1, samples)) }
        /// The candidate's top-1 accuracy in [0, 1].
        public var candidateTop1: Double { Double(candidateCorrect) / Double(max(1, samples)) }
    }

    /// Samples compared in all (the verdict may cover fewer: `float64Samples`).
    public var samples: Int
    /// Samples the verdict (and the Float64 reference) covered.
    public var float64Samples: Int
    /// Samples per executor run, and whether the graph fixes that batch.
    public var runBatch: Int
    /// True when the graph fixes its batch, so samples were fed in that batch size.
    public var fixedBatch: Bool
    /// The seed of random inputs, to reproduce the run.
    public var seed: UInt64
    /// Where the inputs came from ("random, seed 0", a file), for the report.
    public var inputSource: String
    /// "matches-reference-precision" or "allclose".
    public var rule: String
    /// The rule in words, with its numbers.
    public var ruleDescription: String
    /// The allclose rule's absolute tolerance (nil under the default rule).
    public var atol: Double?
    /// The allclose rule's relative tolerance (nil under the default rule).
    public var rtol: Double?
    /// One entry per graph output, in graph order.
    public var outputs: [Output]
    /// Per-layer comparisons, in graph order, when asked for.
    public var layers: [VerifyReport.Layer]?
    /// Samples the per-layer comparison ran on.
    public var layerSamples: Int?
    /// The first value (in graph order) that failed, which is where to look first.
    public var firstDivergence: String?
    /// Top-1 of both models, when labels were given.
    public var accuracy: Accuracy?
    /// Every output passed: the CLI's exit code (0 or 1) follows from this alone.
    public var passed: Bool
}

/// Why a verification could not run at all (as opposed to running and failing).
public enum VerifyError: Error, Equatable, Sendable, CustomStringConvertible {
    case incompatible(String)
    case runtime(RuntimeError)
    case badLabels(String)
    /// The reason in words, for the CLI's message (exit 3).
    public var description: String {
        switch self {
        case .incompatible(let m): return "the models cannot be compared: \(m)"
        case .runtime(let e): return e.description
        case .badLabels(let m): return "labels: \(m)"
        }
    }
}

/// Runs two graphs on the same inputs and judges their difference against the reference's own
/// Float32 error, so that folding is held to what Float32 itself allows.
public enum Verifier {
    /// Seeded standard-normal inputs: `samples` samples of each graph input's per-sample shape.
    public static func randomInputs(for graph: Graph, samples: Int, seed: UInt64) -> [String: NDArray<Float>] {
        SampleBatching.randomInputs(for: graph, samples: samples, seed: seed)
    }

    /// Compares `candidate` with `reference` on the options' inputs; throws only when the graphs cannot be
    /// compared or run (a failed comparison is a report with `passed` false).
    public static func verify(reference: Graph, candidate: Graph, options: VerifyOptions = VerifyOptions())
        throws(VerifyError) -> VerifyReport
    {
        try checkCompatible(reference, candidate)
        let inputs = options.inputs ?? randomInputs(for: reference, samples: options.samples, seed: options.seed)
        let samples = inputs.values.first?.shape.first ?? 0
        guard samples > 0 else { throw .incompatible("no input samples") }
        for (name, x) in inputs where x.shape.first != samples {
            throw .incompatible("input '\(name)' has \(x.shape.first ?? 0) samples, another input \(samples)")
        }
        if let labels = options.labels, labels.count != samples {
            throw .badLabels("\(labels.count) labels for \(samples) samples")
        }
        let byPrecision: Bool
        switch options.rule {
        case .matchesReferencePrecision: byPrecision = true
        case .allclose: byPrecision = false
        }
        let run64 = byPrecision || options.errorBudget
        let samples64 = min(samples, max(1, options.float64Samples ?? samples))
        let batching: SampleBatching
        do {
            batching = try SampleBatching(
                graph: reference, samples: samples,
                preferredBatch: samples64 < samples ? min(options.batch ?? 32, samples64) : options.batch)
        } catch { throw .runtime(error) }
        let batching64 = batching.prefix(runs: (samples64 + batching.runBatch - 1) / batching.runBatch)
        let storage = options.candidateStorage ?? candidate.narrowestParameterStorage

        // One model at a time, each executor freed before the next: peak memory is one plan.
        func outputs<S: KernelScalar>(
            _ graph: Graph, _ label: String, _ batching: SampleBatching,
            _: S.Type
        ) throws(VerifyError) -> [String: NDArray<S>] {
            do {
                let executor = try Executor<S>(graph: graph, batch: batching.runBatch, threads: options.threads)
                let typed = inputs.mapValues { $0.converted(to: S.self) }
                let parts = try executor.runParts(samples: typed, batching: batching) { i, n in
                    options.progress?("\(label): run \(i + 1)/\(n)")
                }
                var out: [String: NDArray<S>] = [:]
                for o in graph.outputs { if let p = parts[o.name] { out[o.name] = batching.assemble(p) } }
                return out
            } catch { throw .runtime(error) }
        }
        let ref = try outputs(reference, "reference f32", batching, Float.self)
        let cand = try outputs(candidate, "candidate f32", batching, Float.self)
        let ref64 = run64 ? try outputs(reference, "reference f64", batching64, Double.self) : [:]
        let budgetSource = storage == .float32 ? "f32" : "f32 with weights as \(storage.rawValue)"
        let refBudget: [String: NDArray<Float>]
        if byPrecision && storage != .float32 {
            refBudget = try outputs(
                reference.storingParameters(as: StorageFormat(storage)), "reference, weights as \(storage.rawValue)",
                batching64, Float.self)
        } else {
            refBudget = [:]
        }

        let (atol, rtol): (Double, Double)
        if case .allclose(let a, let r) = options.rule {
            (atol, rtol) = (a, r)
        } else {
            (atol, rtol) = (VerificationRule.defaultAtol, VerificationRule.defaultRtol)
        }
        var reports: [VerifyReport.Output] = []
        for o in reference.outputs {
            guard let r = ref[o.name], let c = cand[o.name] else { continue }
            guard r.shape == c.shape else {
                throw .incompatible(
                    "output '\(o.name)' is \(formatShape(r.shape)) in the reference and \(formatShape(c.shape)) in the candidate"
                )
            }
            let error = c.values.withUnsafeBufferPointer { cp in
                r.values.withUnsafeBufferPointer { rp in
                    ErrorStatistics.compare(candidate: cp, reference: rp, shape: r.shape, atol: atol, rtol: rtol)
                }
            }
            var budget: ErrorStatistics? = nil
            var verdict: Verdict? = nil
            if let r64 = ref64[o.name] {
                let n = r64.count
                let r32 = Array(r.values.prefix(n)), c32 = Array(c.values.prefix(n))
                budget = r32.withUnsafeBufferPointer { rp in
                    r64.values.withUnsafeBufferPointer { p64 in
                        ErrorStatistics.compare(candidate: rp, reference: p64, shape: r64.shape, atol: atol, rtol: rtol)
                    }
                }
                if case .matchesReferencePrecision(let factor, let floor) = options.rule {
                    let yardstick = refBudget[o.name].map { Array($0.values) } ?? r32
                    verdict = c32.withUnsafeBufferPointer { cp in
                        yardstick.withUnsafeBufferPointer { bp in
                            r64.values.withUnsafeBufferPointer { p64 in
                                Verdict.judge(
                                    candidate: cp, budget: bp, reference64: p64, shape: r64.shape, factor: factor,
                                    floor: floor,
                                    budgetSource: budgetSource)
                            }
                        }
                    }
                }
            }
            reports.append(
                .init(
                    name: o.name, shape: r.shape, error: error, float32Error: budget, verdict: verdict,
                    passed: verdict?.passed ?? error.passed))
        }
        let passed = reports.allSatisfy(\.passed)

        var accuracy: VerifyReport.Accuracy? = nil
        if let labels = options.labels, let first = reference.outputs.first, let r = ref[first.name]?.values,
            let c = cand[first.name]?.values,
            r.count % samples == 0
        {
            let k = r.count / samples
            var refCorrect = 0, candCorrect = 0, changed = 0
            for s in 0..<samples {
                let ra = argmax(r[(s * k)..<((s + 1) * k)]), ca = argmax(c[(s * k)..<((s + 1) * k)])
                if ra == labels[s] { refCorrect += 1 }
                if ca == labels[s] { candCorrect += 1 }
                if ra != ca { changed += 1 }
            }
            accuracy = .init(
                samples: samples, referenceCorrect: refCorrect, candidateCorrect: candCorrect,
                changedPredictions: changed)
        }

        // Per layer on request, and on a failure: where the two first part.
        var layers: [VerifyReport.Layer]? = nil
        var layerSamples: Int? = nil
        if options.perLayer || !passed {
            let one: SampleBatching
            do { one = try SampleBatching(graph: reference, samples: 1, preferredBatch: 1) } catch {
                throw .runtime(error)
            }
            layerSamples = one.runBatch
            options.progress?("per-layer comparison")
            layers = try compareLayers(
                reference: reference, candidate: candidate, inputs: one.slice(inputs, run: 0),
                batch: one.runBatch, rule: options.rule, storage: storage, threads: options.threads)
        }
        let firstDivergence = layers?.first { !$0.passed && $0.note == nil }?.candidate
        let ruleDescription: String
        switch options.rule {
        case .matchesReferencePrecision(let factor, let floor):
            ruleDescription =
                "candidate within \(shortNumber(factor))× the reference's own \(budgetSource) error vs f64 (largest and rms), "
                + "floor \(shortNumber(floor))·max|output|"
        case .allclose(let a, let r):
            ruleDescription =
                "allclose: |candidate − reference| ≤ \(shortNumber(a)) + \(shortNumber(r))·|reference| everywhere"
        }
        return VerifyReport(
            samples: samples, float64Samples: run64 ? batching64.samples : 0, runBatch: batching.runBatch,
            fixedBatch: batching.fixedBatch, seed: options.seed,
            inputSource: options.inputs == nil ? "random" : "files",
            rule: byPrecision ? "matches-reference-precision" : "allclose",
            ruleDescription: ruleDescription, atol: byPrecision ? nil : atol, rtol: byPrecision ? nil : rtol,
            outputs: reports, layers: layers, layerSamples: layerSamples,
            firstDivergence: firstDivergence, accuracy: accuracy, passed: passed)
    }

    /// 4, 1e-06 → "4", "1e-6".
    public static func shortNumber(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e6 { return String(Int(x)) }
        let s = String(format: "%.3g", x)
        return s.replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e")
    }

    static func argmax(_ values: ArraySlice<Float>) -> Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }

    static func checkCompatible(_ a: Graph, _ b: Graph) throws(VerifyError) {
        guard a.inputs.map(\.name) == b.inputs.map(\.name) else {
            throw .incompatible("inputs differ: \(a.inputs.map(\.name)) vs \(b.inputs.map(\.name))")
        }
        for (x, y) in zip(a.inputs, b.inputs) where x.concreteShape(batch: 1) != y.concreteShape(batch: 1) {
            throw .incompatible(
                "input '\(x.name)' is \(formatShape(x.concreteShape(batch: 1))) in one and \(formatShape(y.concreteShape(batch: 1))) in the other"
            )
        }
        guard a.outputs.map(\.name) == b.outputs.map(\.name) else {
            throw .incompatible("outputs differ: \(a.outputs.map(\.name)) vs \(b.outputs.map(\.name))")
        }
    }

    /// The reference value a candidate value stands for: follow the reference graph from the
    /// same name through nodes the candidate no longer has (folded BatchNorms and affines,
    /// removed identities and inverted dropouts). Classic dropouts are not followed: their
    /// factor moved into weights, so values on either side differ by it by design.
    ///
    /// BatchNorms and affines are followed only along a chain that starts at a conv/linear
    /// output (conv → Add(bias) → BatchNorm folds wholly into the conv). Values between a
    /// BatchNorm/affine folded *forward* and the layer that absorbed it (the Flatten between
    /// ×0.8 and a Linear) are not paired: the candidate's lack the factor by design, and the
    /// absorbing layer's output, which is paired, shows whether the fold was right.
    static func correspondence(reference: Graph, candidate: Graph) -> [(candidate: String, reference: String)] {
        let candidateNodes = Set(candidate.nodes.map(\.name))
        let index = GraphIndex(reference)
        let referenceValues = Set(reference.inputs.map(\.name) + reference.nodes.flatMap(\.outputs))
        let analysis = FoldingAnalysis(reference)
        var outputsByNode: [String: [String]] = [:]
        for node in reference.nodes where outputsByNode[node.name] == nil { outputsByNode[node.name] = node.outputs }
        var unpaired = Set<String>()
        for node in reference.nodes where !candidateNodes.contains(node.name) {
            guard case .intoConsumer(_, let through)? = analysis.batchNorm[node.name] else { continue }
            unpaired.insert(node.output)
            for name in through { unpaired.formUnion(outputsByNode[name] ?? []) }
        }
        func isLayer(_ op: Op) -> Bool {
            switch op {
            case .conv2d, .convTranspose2d, .linear: return true
            default: return false
            }
        }
        var pairs: [(String, String)] = []
        for value in candidate.inputs.map(\.name) + candidate.nodes.flatMap(\.outputs)
        where referenceValues.contains(value) && !unpaired.contains(value) {
            var r = value
            // Whether `r` is a conv/linear output, or one with only folded BatchNorms/affines
            // and exact identities since: what a BatchNorm after it folds into.
            let fromLayer = index.producer[value].map { isLayer(reference.nodes[$0].op) } ?? false
            while let consumers = index.consumers[r], consumers.count == 1 {
                let next = reference.nodes[consumers[0]]
                guard !candidateNodes.contains(next.name) else { break }
                switch next.op {
                case .batchNorm, .affine:
                    // Folded into the producer: the candidate's producer output is the BN's
                    // output. Folded forward into a consumer: not followed (see above).
                    var forward = false
                    if case .intoConsumer? = analysis.batchNorm[next.name] { forward = true }
                    if fromLayer && !forward { r = next.output; continue }
                case .identity: r = next.output; continue
                case .dropout(let d) where d.convention == .inverted || d.rate == 0: r = next.output; continue
                default: break
                }
                break
            }
            pairs.append((value, r))
        }
        return pairs
    }

    /// Every value the two graphs share (see `correspondence`), compared on one run of inputs
    /// under `rule`: under the default rule each value is judged like an output (the candidate
    /// against the reference in Float64, with the reference's own error as the yardstick).
    static func compareLayers(
        reference: Graph, candidate: Graph, inputs: [String: NDArray<Float>], batch: Int,
        rule: VerificationRule, storage: StorageFormat.ElementType, threads: Int
    ) throws(VerifyError) -> [VerifyReport.Layer] {
        let pairs = correspondence(reference: reference, candidate: candidate)
        func values<S: KernelScalar>(_ graph: Graph, _ names: [String], _: S.Type) throws(VerifyError) -> [String:
            NDArray<S>]
        {
            do {
                let executor = try Executor<S>(graph: graph, batch: batch, retainAllValues: true, threads: threads)
                _ = try executor.run(inputs.mapValues { $0.converted(to: S.self) })
                var out: [String: NDArray<S>] = [:]
                for name in names { out[name] = executor.value(named: name) }
                return out
            } catch { throw .runtime(error) }
        }
        let ref = try values(reference, pairs.map(\.reference), Float.self)
        let cand = try values(candidate, pairs.map(\.candidate), Float.self)
        var ref64: [String: NDArray<Double>] = [:], yardstick = ref
        if case .matchesReferencePrecision = rule {
            ref64 = try values(reference, pairs.map(\.reference), Double.self)
            if storage != .float32 {
                yardstick = try values(
                    reference.storingParameters(as: StorageFormat(storage)), pairs.map(\.reference), Float.self)
            }
        }
        // Keep factors of classic dropouts the candidate folded away: values between a scaled
        // producer and where the dropout stood differ by exactly that factor.
        let removedClassic: [Double] = reference.nodes.compactMap { n in
            guard case .dropout(let d) = n.op, d.convention == .classic, d.rate > 0,
                candidate.node(named: n.name) == nil
            else { return nil }
            return d.keepProbability
        }
        var layers: [VerifyReport.Layer] = []
        for (c, r) in pairs {
            guard let cv = cand[c], let rv = ref[r], cv.shape == rv.shape else { continue }
            let stats = cv.values.withUnsafeBufferPointer { cp in
                rv.values.withUnsafeBufferPointer { rp in
                    ErrorStatistics.compare(
                        candidate: cp, reference: rp, shape: cv.shape, atol: VerificationRule.defaultAtol,
                        rtol: VerificationRule.defaultRtol)
                }
            }
            /// The rule on this value, the reference scaled by `scale` (a folded classic dropout's keep).
            func judged(_ scale: Double) -> (passed: Bool, margin: Double?, verdict: Verdict?) {
                switch rule {
                case .allclose(let atol, let rtol):
                    let scaled = scale == 1 ? rv.values : rv.values.map { $0 * Float(scale) }
                    let s = cv.values.withUnsafeBufferPointer { cp in
                        scaled.withUnsafeBufferPointer { rp in
                            ErrorStatistics.compare(
                                candidate: cp, reference: rp, shape: cv.shape, atol: atol, rtol: rtol)
                        }
                    }
                    return (s.passed, nil, nil)
                case .matchesReferencePrecision(let factor, let floor):
                    guard let r64 = ref64[r], let y = yardstick[r] else { return (false, nil, nil) }
                    let exact = scale == 1 ? r64.values : r64.values.map { $0 * scale }
                    let budget = scale == 1 ? y.values : y.values.map { $0 * Float(scale) }
                    let v = cv.values.withUnsafeBufferPointer { cp in
                        budget.withUnsafeBufferPointer { bp in
                            exact.withUnsafeBufferPointer { p64 in
                                Verdict.judge(
                                    candidate: cp, budget: bp, reference64: p64, shape: cv.shape, factor: factor,
                                    floor: floor, budgetSource: "")
                            }
                        }
                    }
                    return (v.passed, v.margin, v)
                }
            }
            let verdict = judged(1)
            var note: String? = nil
            if !verdict.passed {
                for keep in removedClassic where judged(keep).passed {
                    note = "scaled ×\(keep) by a classic dropout folded into weights"
                    break
                }
            }
            layers.append(
                .init(
                    candidate: c, reference: r, maxAbsError: stats.maxAbsError, maxRelError: stats.maxRelError,
                    margin: verdict.margin, passed: verdict.passed, note: note, meanAbsError: stats.meanAbsError,
                    float64MaxError: verdict.verdict?.candidateMaxError,
                    budgetMaxError: verdict.verdict?.budgetMaxError,
                    allowedMaxError: verdict.verdict?.maxBound))
        }
        return layers
    }
}
