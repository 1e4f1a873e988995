// Runs a reference and a candidate graph (unfolded and folded) on the same inputs in eval mode
// and reports, per output, how far apart they are — beside how far the reference's own Float32
// arithmetic is from Float64, so a user sees whether folding added error.
import CNNGraph
import Foundation
import CNNKernels
import CNNRuntime

public struct VerifyOptions: Sendable {
    /// Random samples when no inputs are given.
    public var samples = 8
    public var seed: UInt64 = 0
    /// Samples per executor run (default: all at once, at most 32).
    public var batch: Int?
    public var atol = 1e-5
    public var rtol = 1e-4
    public var perLayer = false
    /// Also run the reference in Float64 (the error budget).
    public var errorBudget = true
    /// Inputs by name, batch on axis 0; overrides `samples`.
    public var inputs: [String: NDArray<Float>]?
    /// Class labels, one per sample, for top-1 accuracy of both models.
    public var labels: [Int]?
    public var threads = KernelThreads.defaultCount
    /// Called with a line of progress text ("batch 2/4").
    public var progress: (@Sendable (String) -> Void)?
    public init() {}
}

public struct VerifyReport: Codable, Sendable {
    public struct Output: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        /// Candidate (folded) vs reference (unfolded), both Float32.
        public var error: ErrorStatistics
        /// Reference in Float32 vs reference in Float64: the error Float32 itself brings.
        public var float32Error: ErrorStatistics?
        public var passed: Bool
    }
    public struct Layer: Codable, Sendable {
        /// The value compared, by its name in the candidate and in the reference graph.
        public var candidate: String
        public var reference: String
        public var maxAbsError: Double
        public var maxRelError: Double
        public var passed: Bool
        public var note: String?
    }
    public struct Accuracy: Codable, Sendable {
        public var samples: Int
        public var referenceCorrect: Int
        public var candidateCorrect: Int
        /// Samples whose predicted class differs between the two models.
        public var changedPredictions: Int
        public var referenceTop1: Double { Double(referenceCorrect) / Double(max(1, samples)) }
        public var candidateTop1: Double { Double(candidateCorrect) / Double(max(1, samples)) }
    }

    public var samples: Int
    public var seed: UInt64
    public var inputSource: String
    public var atol: Double
    public var rtol: Double
    public var outputs: [Output]
    public var layers: [Layer]?
    public var firstDivergence: String?
    public var accuracy: Accuracy?
    public var passed: Bool
}

public enum VerifyError: Error, Equatable, Sendable, CustomStringConvertible {
    case incompatible(String)
    case runtime(RuntimeError)
    case badLabels(String)
    public var description: String {
        switch self {
        case .incompatible(let m): return "the models cannot be compared: \(m)"
        case .runtime(let e): return e.description
        case .badLabels(let m): return "labels: \(m)"
        }
    }
}

public enum Verifier {
    /// Seeded standard-normal inputs of each graph input's declared shape, `samples` on axis 0.
    public static func randomInputs(for graph: Graph, samples: Int, seed: UInt64) -> [String: NDArray<Float>] {
        var generator = Xoshiro256StarStar(seed: seed)
        var out: [String: NDArray<Float>] = [:]
        for input in graph.inputs {
            var shape = input.concreteShape(batch: samples)
            if case .fixed = input.shape.first { shape[0] = samples }
            let count = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: count)
            var i = 0
            while i < count {
                let u1 = max(generator.nextUnit(), 1e-300), u2 = generator.nextUnit()
                let r = (-2 * log(u1)).squareRoot()
                values[i] = Float(r * cos(2 * Double.pi * u2))
                if i + 1 < count { values[i + 1] = Float(r * sin(2 * Double.pi * u2)) }
                i += 2
            }
            out[input.name] = NDArray(shape: shape, values: values)
        }
        return out
    }

    public static func verify(reference: Graph, candidate: Graph, options: VerifyOptions = VerifyOptions()) throws(VerifyError) -> VerifyReport {
        try checkCompatible(reference, candidate)
        let inputs = options.inputs ?? randomInputs(for: reference, samples: options.samples, seed: options.seed)
        let samples = inputs.values.first?.shape.first ?? 0
        guard samples > 0 else { throw .incompatible("no input samples") }
        if let labels = options.labels, labels.count != samples {
            throw .badLabels("\(labels.count) labels for \(samples) samples")
        }
        let batch = min(samples, max(1, options.batch ?? min(samples, 32)))
        var refOut: [String: [Float]] = [:], candOut: [String: [Float]] = [:], ref64Out: [String: [Double]] = [:]
        var layers: [VerifyReport.Layer]? = nil
        let chunks = stride(from: 0, to: samples, by: batch).map { ($0, min(batch, samples - $0)) }
        do {
            var executors: [Int: (Executor<Float>, Executor<Float>, Executor<Double>?)] = [:]
            for (n, (start, size)) in chunks.enumerated() {
                if chunks.count > 1 { options.progress?("batch \(n + 1)/\(chunks.count)") }
                if executors[size] == nil {
                    let keep = options.perLayer && n == 0
                    executors[size] = (try Executor<Float>(graph: reference, batch: size, retainAllValues: keep, threads: options.threads),
                                       try Executor<Float>(graph: candidate, batch: size, retainAllValues: keep, threads: options.threads),
                                       options.errorBudget ? try Executor<Double>(graph: reference, batch: size, threads: options.threads) : nil)
                }
                let (ref, cand, ref64) = executors[size]!
                let slice = inputs.mapValues { x -> NDArray<Float> in
                    let per = x.count / samples
                    var shape = x.shape
                    shape[0] = size
                    return NDArray(shape: shape, values: Array(x.values[(start * per)..<((start + size) * per)]))
                }
                let r = try ref.run(slice)
                let c = try cand.run(slice)
                for (name, v) in r.outputs { refOut[name, default: []] += v.values }
                for (name, v) in c.outputs { candOut[name, default: []] += v.values }
                if let ref64 {
                    let r64 = try ref64.run(slice.mapValues { $0.converted(to: Double.self) })
                    for (name, v) in r64.outputs { ref64Out[name, default: []] += v.values }
                }
                if options.perLayer && n == 0 {
                    layers = compareLayers(reference: ref, candidate: cand, options: options)
                }
            }
        } catch {
            throw .runtime(error)
        }
        var outputs: [VerifyReport.Output] = []
        for o in reference.outputs {
            var shape = o.concreteShape(batch: samples)
            shape[0] = samples
            guard let r = refOut[o.name], let c = candOut[o.name], r.count == c.count else { continue }
            let error = c.withUnsafeBufferPointer { cp in r.withUnsafeBufferPointer { rp in
                ErrorStatistics.compare(candidate: cp, reference: rp, shape: shape, atol: options.atol, rtol: options.rtol)
            } }
            let budget = ref64Out[o.name].map { r64 in
                r.withUnsafeBufferPointer { rp in r64.withUnsafeBufferPointer { p64 in
                    ErrorStatistics.compare(candidate: rp, reference: p64, shape: shape, atol: options.atol, rtol: options.rtol)
                } }
            }
            outputs.append(VerifyReport.Output(name: o.name, shape: shape, error: error, float32Error: budget, passed: error.passed))
        }
        var accuracy: VerifyReport.Accuracy? = nil
        if let labels = options.labels, let first = reference.outputs.first, let r = refOut[first.name], let c = candOut[first.name] {
            let k = r.count / samples
            var refCorrect = 0, candCorrect = 0, changed = 0
            for s in 0..<samples {
                let ra = argmax(r[(s * k)..<((s + 1) * k)]), ca = argmax(c[(s * k)..<((s + 1) * k)])
                if ra == labels[s] { refCorrect += 1 }
                if ca == labels[s] { candCorrect += 1 }
                if ra != ca { changed += 1 }
            }
            accuracy = .init(samples: samples, referenceCorrect: refCorrect, candidateCorrect: candCorrect, changedPredictions: changed)
        }
        let firstDivergence = layers?.first { !$0.passed && $0.note == nil }?.candidate
        return VerifyReport(samples: samples, seed: options.seed, inputSource: options.inputs == nil ? "random" : "files",
                            atol: options.atol, rtol: options.rtol, outputs: outputs, layers: layers,
                            firstDivergence: firstDivergence, accuracy: accuracy, passed: outputs.allSatisfy(\.passed))
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
            throw .incompatible("input '\(x.name)' is \(formatShape(x.concreteShape(batch: 1))) in one and \(formatShape(y.concreteShape(batch: 1))) in the other")
        }
        guard a.outputs.map(\.name) == b.outputs.map(\.name) else {
            throw .incompatible("outputs differ: \(a.outputs.map(\.name)) vs \(b.outputs.map(\.name))")
        }
    }

    /// The reference value a candidate value stands for: follow the reference graph from the
    /// same name through nodes the candidate no longer has (folded BatchNorms and affines,
    /// removed identities and inverted dropouts). Classic dropouts are not followed: their
    /// factor moved into weights, so values on either side differ by it by design.
    static func correspondence(reference: Graph, candidate: Graph) -> [(candidate: String, reference: String)] {
        let candidateNodes = Set(candidate.nodes.map(\.name))
        let index = GraphIndex(reference)
        let referenceValues = Set(reference.inputs.map(\.name) + reference.nodes.flatMap(\.outputs))
        var pairs: [(String, String)] = []
        for value in candidate.inputs.map(\.name) + candidate.nodes.flatMap(\.outputs) where referenceValues.contains(value) {
            var r = value
            while let consumers = index.consumers[r], consumers.count == 1 {
                let next = reference.nodes[consumers[0]]
                guard !candidateNodes.contains(next.name) else { break }
                switch next.op {
                case .batchNorm, .affine:
                    // Folded into the producer: the candidate's producer output is the BN's
                    // output. Folded forward into a consumer: the value is the BN's input.
                    guard let p = index.producer[r] else { break }
                    switch reference.nodes[p].op {
                    case .conv2d, .convTranspose2d, .linear: r = next.output; continue
                    default: break
                    }
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

    static func compareLayers(reference: Executor<Float>, candidate: Executor<Float>, options: VerifyOptions) -> [VerifyReport.Layer] {
        // Keep factors of classic dropouts the candidate folded away: values between a scaled
        // producer and where the dropout stood differ by exactly that factor.
        let removedClassic: [Double] = reference.graph.nodes.compactMap { n in
            guard case .dropout(let d) = n.op, d.convention == .classic, d.rate > 0,
                  candidate.graph.node(named: n.name) == nil else { return nil }
            return d.keepProbability
        }
        var layers: [VerifyReport.Layer] = []
        for (c, r) in correspondence(reference: reference.graph, candidate: candidate.graph) {
            guard let cv = candidate.value(named: c), let rv = reference.value(named: r), cv.shape == rv.shape else { continue }
            let stats = cv.values.withUnsafeBufferPointer { cp in rv.values.withUnsafeBufferPointer { rp in
                ErrorStatistics.compare(candidate: cp, reference: rp, shape: cv.shape, atol: options.atol, rtol: options.rtol)
            } }
            var note: String? = nil
            if !stats.passed {
                for keep in removedClassic {
                    let scaled = rv.values.map { $0 * Float(keep) }
                    let s = cv.values.withUnsafeBufferPointer { cp in scaled.withUnsafeBufferPointer { rp in
                        ErrorStatistics.compare(candidate: cp, reference: rp, shape: cv.shape, atol: options.atol, rtol: options.rtol)
                    } }
                    if s.passed { note = "scaled ×\(keep) by a classic dropout folded into weights"; break }
                }
            }
            layers.append(.init(candidate: c, reference: r, maxAbsError: stats.maxAbsError, maxRelError: stats.maxRelError,
                                passed: stats.passed, note: note))
        }
        return layers
    }
}
