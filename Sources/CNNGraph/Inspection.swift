// What `cnnconv inspect` reports: per-node shapes, parameters and MACs, BN/dropout plans,
// statistic warnings. Built here so tests and other commands reach it; rendering is separate.
import CNNFormat
import CNNKernels
import Foundation

/// Everything `cnnconv inspect` shows, as data: the text renderer and `--json` both read it, and
/// tests check it without parsing text.
public struct InspectionReport: Codable, Sendable {
    /// The container's facts; nil when the report describes a graph in memory rather than a file.
    public struct FileInfo: Codable, Sendable {
        /// The file as the user named it, so a report says which file it describes.
        public var path: String
        /// The format version the file declares ("major.minor"): which reader it needs.
        public var formatVersion: String
        /// Bytes on disk, to compare a folded file with its source.
        public var fileSize: UInt64
        /// Entries in the tensor table, including tensors no node references.
        public var tensorCount: Int
        /// "f32 raw" → number of tensors stored that way.
        public var storage: [String: Int]
        /// "ok" when every CRC was checked, "not checked" otherwise.
        public var checksums: String
    }
    /// A graph input or output as a caller must feed or read it.
    public struct Value: Codable, Sendable {
        /// The name a caller binds (`run --input NAME=FILE`).
        public var name: String
        /// Dimensions as declared; a symbolic one (the batch) keeps its label.
        public var shape: [String]
    }
    /// One node as the table shows it, in execution order.
    public struct NodeRow: Codable, Sendable {
        /// Position in execution order, so rows can be cited by number.
        public var index: Int
        /// The node's name in the file, which errors and `verify --per-layer` use too.
        public var name: String
        /// The op's display name (its definition's `kindName`), e.g. "DepthwiseConv2d".
        public var op: String
        /// Key attributes: "3→16 k3 s1 p1", "p=0.5 inverted".
        public var attributes: String
        /// The values the node reads, in operand order.
        public var inputs: [String]
        /// Shapes of those values at the inspected batch.
        public var inputShapes: [[Int]]
        /// Shape of the node's (first) output at the inspected batch.
        public var outputShape: [Int]
        /// Parameter elements the node stores (weights, biases, BN statistics).
        public var parameters: Int
        /// Multiply-accumulates per sample (the whole batch's divided by the model's batch): the
        /// cost folding removes or keeps.
        public var macs: Int
        /// What the passes would do here, or why not, in words for the table.
        public var notes: [String]
    }
    /// What folding would do with one BatchNorm, decided before anything is written.
    public struct BatchNormEntry: Codable, Sendable {
        /// The BatchNorm's node name.
        public var node: String
        /// "producer", "consumer" or "affine".
        public var plan: String
        /// The node the BatchNorm folds into, when it folds.
        public var target: String?
        /// Why it cannot fold into a neighbour, when it cannot.
        public var reason: String?
        /// Smallest running variance: near-zero values make the fold factor explode.
        public var minVariance: Double
        /// Largest running variance, to show the spread a fold must carry.
        public var maxVariance: Double
        /// Largest |γ|/√(σ²+ε): how much folding grows weights.
        public var maxScale: Double
    }
    /// What folding would do with one Dropout, by its convention and granularity.
    public struct DropoutEntry: Codable, Sendable {
        /// The Dropout's node name.
        public var node: String
        /// Drop probability as stored.
        public var rate: Double
        /// "inverted" (scaled in training) or "classic" (scaled at inference).
        public var convention: String
        /// "element" or "channel" (spatial dropout): which keep factor applies.
        public var granularity: String
        /// "removed", "scale-consumer", "scale-producer", "affine".
        public var inference: String
        /// The node that absorbs the keep factor, when one does.
        public var target: String?
        /// The factor inference multiplies by (1 for inverted dropout).
        public var keep: Double
        /// Why the factor cannot go into a neighbour, when it cannot.
        public var reason: String?
    }

    /// The container's facts, when inspecting a file.
    public var file: FileInfo?
    /// The model's name from its header.
    public var name: String
    /// The tool that wrote the model, to tell an import from a fold.
    public var producer: String
    /// Whether the fold passes already ran: fold refuses to fold twice.
    public var folded: Bool
    /// The passes recorded in the file, in the order they ran.
    public var appliedPasses: [String]
    /// Inputs as a caller must feed them.
    public var inputs: [Value]
    /// Outputs as a caller reads them.
    public var outputs: [Value]
    /// The node table.
    public var nodes: [NodeRow]
    /// Total stored parameter elements.
    public var parameters: Int
    /// Bytes those parameters take as stored (after any f16/bf16 conversion).
    public var parameterBytes: Int
    /// Total multiply-accumulates at the inspected batch.
    public var macs: Int
    /// The BatchNorm plan, one entry per BatchNorm.
    public var batchNorm: [BatchNormEntry]
    /// The Dropout plan, one entry per Dropout.
    public var dropout: [DropoutEntry]
    /// How many nodes of each op display name, for a one-line summary.
    public var opCounts: [String: Int]
    /// Statistics that would make folding or f16 storage lose precision.
    public var warnings: [String]

    /// BatchNorm and Dropout counts of the model before it was folded (metadata written by fold).
    public var countsBeforeFolding: [String: Int]?
    /// Metadata key fold writes the BatchNorm count under.
    public static let batchNormBeforeKey = "cnnconv.fold.batchnorm_before"
    /// Metadata key fold writes the Dropout count under.
    public static let dropoutBeforeKey = "cnnconv.fold.dropout_before"
    /// Samples the BatchNorm statistics were recomputed from (metadata written by recalibrate).
    public var recalibratedSamples: Int?
    /// Metadata key recalibrate writes its sample count under.
    public static let recalibratedSamplesKey = "cnnconv.recalibrate.samples"

    /// Folding a weight by more than this loses precision in f16 (10 mantissa bits).
    public static let largeScaleWarning = 100.0

    /// Assumes parameter values were checked (`Graph(contentsOf:)` and the passes do); checks
    /// structure and shapes.
    public init(graph: Graph, file: ModelFile? = nil) throws(GraphError) {
        try graph.validateStructure()
        let shapes = try graph.inferShapes()
        let analysis = FoldingAnalysis(graph)
        name = graph.name
        producer = graph.producer
        appliedPasses = graph.appliedPasses
        folded = !graph.appliedPasses.isEmpty
        if let bn = graph.metadata[Self.batchNormBeforeKey].flatMap(Int.init),
            let dropout = graph.metadata[Self.dropoutBeforeKey].flatMap(Int.init)
        {
            countsBeforeFolding = ["BatchNorm": bn, "Dropout": dropout]
        }
        recalibratedSamples = graph.metadata[Self.recalibratedSamplesKey].flatMap(Int.init)
        inputs = graph.inputs.map { Value(name: $0.name, shape: $0.shape.map(\.description)) }
        outputs = graph.outputs.map { Value(name: $0.name, shape: $0.shape.map(\.description)) }
        if let file {
            var storage: [String: Int] = [:]
            for e in file.tensorEntries { storage[file.storageFormat(of: e).description, default: 0] += 1 }
            self.file = FileInfo(
                path: file.path, formatVersion: "\(file.preamble.majorVersion).\(file.preamble.minorVersion)",
                fileSize: file.fileSize, tensorCount: file.tensorEntries.count, storage: storage,
                checksums: file.checksumsVerified ? "ok" : "not checked")
        }
        var notesByNode: [String: [String]] = [:]
        batchNorm = []
        dropout = []
        warnings = []
        opCounts = [:]
        for node in graph.nodes {
            opCounts[node.op.kindName, default: 0] += 1
            if case .batchNorm(let bn) = node.op, let plan = analysis.batchNorm[node.name] {
                let stats = Self.statistics(bn)
                var entry = BatchNormEntry(
                    node: node.name, plan: "affine", target: nil, reason: nil,
                    minVariance: stats.minVariance, maxVariance: stats.maxVariance, maxScale: stats.maxScale)
                switch plan {
                case .intoProducer(let target):
                    entry.plan = "producer"; entry.target = target
                    notesByNode[node.name, default: []].append("folds into \(target)")
                case .intoConsumer(let target, _):
                    entry.plan = "consumer"; entry.target = target
                    notesByNode[node.name, default: []].append("folds into \(target) (forward)")
                case .affine(let reason):
                    entry.reason = reason
                    notesByNode[node.name, default: []].append("becomes an affine: \(reason)")
                }
                batchNorm.append(entry)
                if stats.maxScale >= Self.largeScaleWarning {
                    warnings.append(
                        "\(node.name) running variance down to \(sci(stats.minVariance)) — folded weights grow ×\(sci(stats.maxScale)); f16 storage would lose precision there"
                    )
                }
                if stats.maxVariance > 1e6 {
                    warnings.append(
                        "\(node.name) running variance up to \(sci(stats.maxVariance)) — check the statistics were tracked"
                    )
                }
            }
            // Affines (a bias written as an Add, an inference-time scale) fold as BatchNorms do;
            // say where, as `fold` will report it.
            if case .affine = node.op, let plan = analysis.batchNorm[node.name] {
                switch plan {
                case .intoProducer(let target): notesByNode[node.name, default: []].append("folds into \(target)")
                case .intoConsumer(let target, _):
                    notesByNode[node.name, default: []].append("folds into \(target) (forward)")
                case .affine: break
                }
            }
            if case .dropout(let d) = node.op, let plan = analysis.dropout[node.name] {
                var entry = DropoutEntry(
                    node: node.name, rate: d.rate, convention: d.convention.rawValue,
                    granularity: d.granularity.rawValue, inference: "removed", target: nil,
                    keep: d.keepProbability, reason: nil)
                switch plan {
                case .remove:
                    notesByNode[node.name, default: []].append("removed at inference")
                case .scaleConsumer(let target, let keep):
                    entry.inference = "scale-consumer"; entry.target = target
                    notesByNode[node.name, default: []].append("×\(trimmed(keep)) into \(target)'s weights")
                case .scaleProducer(let target, let keep, _):
                    entry.inference = "scale-producer"; entry.target = target
                    notesByNode[node.name, default: []].append("×\(trimmed(keep)) into \(target)'s weights and bias")
                case .affine(let keep, let reason):
                    entry.inference = "affine"; entry.reason = reason
                    notesByNode[node.name, default: []].append("becomes ×\(trimmed(keep)): \(reason)")
                }
                dropout.append(entry)
            }
        }
        // MACs are per sample: divided by the batch of the model's first input, not by each
        // node's first dimension (an LSTM's X is time-major, T×N×C).
        let batch = max(1, graph.inputs.first.flatMap { shapes[$0.name]?.first } ?? 1)
        nodes = graph.nodes.enumerated().map { i, node in
            let ins = node.inputs.map { shapes[$0] ?? [] }
            let out = shapes[node.output] ?? []
            return NodeRow(
                index: i, name: node.name, op: node.op.kindName, attributes: node.op.attributeSummary(inputShapes: ins),
                inputs: node.inputs, inputShapes: ins, outputShape: out,
                parameters: node.op.parameters.reduce(0) { $0 + $1.tensor.count },
                macs: node.op.macs(inputShapes: ins, outputShape: out) / batch,
                notes: notesByNode[node.name] ?? [])
        }
        parameters = graph.parameterCount
        parameterBytes = parameters * 4
        macs = nodes.reduce(0) { $0.adding(checked: $1.macs) ?? .max }
    }

    static func statistics(_ bn: BatchNorm) -> (minVariance: Double, maxVariance: Double, maxScale: Double) {
        let variance = bn.runningVariance.array
        let gamma = bn.scale?.array
        var maxScale = 0.0
        for c in variance.indices {
            let g = gamma.map { Double($0[c]) } ?? 1
            maxScale = max(
                maxScale, abs(batchNormFactor(scale: g, variance: Double(variance[c]), epsilon: bn.epsilon)))
        }
        return (Double(variance.min() ?? 0), Double(variance.max() ?? 0), maxScale)
    }
}

extension Op {
    /// Multiply-accumulates for the whole batch of the given shapes (callers divide by N);
    /// saturates at `Int.max` rather than overflow.
    public func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int {
        definition.macs(inputShapes: inputShapes, outputShape: outputShape)
    }

    /// Key attributes in the field's shorthand: "3→16 k3 s2 p1 g32", "p=0.5 classic".
    public func attributeSummary(inputShapes: [[Int]]) -> String {
        definition.attributeSummary(inputShapes: inputShapes)
    }
}

/// 1e-05, 3.1e-07, 1.8e+03 style: two significant digits; "inf", "-inf", "nan" as such.
public func sci(_ v: Double) -> String {
    if v == 0 { return "0" }
    guard v.isFinite else { return v.isNaN ? "nan" : (v < 0 ? "-inf" : "inf") }
    let e = Int((log10(abs(v))).rounded(.down))
    if e >= -3 && e <= 3 { return trimmed(v, digits: 3) }
    let m = v / pow(10, Double(e))
    let mantissa = trimmed((m * 10).rounded() / 10, digits: 1)
    return "\(mantissa)e\(e < 0 ? "-" : "+")\(String(format: "%02d", abs(e)))"
}

/// A number without trailing zeros: 0.5, 0.8, 6, 0.167.
public func trimmed(_ v: Double, digits: Int = 4) -> String {
    var s = String(format: "%.\(digits)f", v)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s == "-0" ? "0" : s
}
