// What a pass did and what it skipped, with reasons — the record `fold --explain` prints.
import CNNFormat
import CNNGraph

/// What one pass did, node by node, in fields a caller can act on (which node went into which,
/// by what factor, why not) — `fold --explain`, `--json` and the summary read these fields and
/// never the prose in `detail`, so rewording a message cannot break a reader.
public struct PassReport: Codable, Sendable, Equatable {
    /// The rewrites of `FoldPasses`. The raw value is the pass's name (`--passes`, the file's
    /// `applied_passes`, the JSON's `pass`); callers switch on the case, not on the name.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case weightReparameterization = "fold-weight-reparameterization"
        case batchNorm = "fold-batchnorm"
        case dropout = "fold-dropout"
        case batchNormToAffine = "batchnorm-to-affine"
        case cleanup = "remove-identity"
    }
    /// What happened to one node, as a closed set a reader can switch over (the JSON's `action`).
    public enum Action: String, Codable, Sendable {
        case folded, removed, converted, merged, skipped
    }
    /// One node's outcome in one pass: the action and, as fields, its target, path and factor.
    public struct Line: Codable, Sendable, Equatable {
        /// Whether the node was folded, removed, converted, merged or skipped.
        public var action: Action
        /// The node acted on, by name as in the input graph.
        public var node: String
        /// The human sentence for `--explain`; not for parsing (the fields below carry the facts).
        public var detail: String
        /// The layer that absorbed the node, when one did.
        public var target: String?
        /// The nodes a fold reached its target through (a ReLU or pool between a BatchNorm and
        /// the conv after it), when there were any.
        public var through: [String]?
        /// The factor a classic dropout's keep probability put on its target (or affine).
        public var factor: Double?
        /// Why the node was not folded into a neighbour: a skip's reason, or why it became an affine.
        public var reason: String?
        /// The op of the node acted on ("BatchNorm", "Affine"), where a pass takes several kinds:
        /// fold-batchnorm folds BatchNorms and affines (per-channel Mul/Add, inference-time scales).
        public var op: String?
        /// True when a BatchNorm/affine folded into the layer after it (its input weights), not
        /// into its producer.
        public var forward: Bool?

        /// A line as a pass records it (public so that tools can build reports of their own passes).
        public init(
            action: Action, node: String, detail: String, target: String? = nil, through: [String]? = nil,
            factor: Double? = nil, reason: String? = nil, op: String? = nil, forward: Bool? = nil
        ) {
            self.action = action; self.node = node; self.detail = detail
            self.target = target; self.through = through; self.factor = factor; self.reason = reason
            self.op = op; self.forward = forward
        }
    }
    /// Which pass this report is for.
    public var kind: Kind
    /// One line per node the pass acted on or skipped, in graph order.
    public var lines: [Line] = []

    /// The JSON keeps the key `pass` holding the pass's name (schema 1).
    enum CodingKeys: String, CodingKey {
        case kind = "pass"
        case lines
    }

    /// An empty report, for a pass (ours or a tool's own) to fill.
    public init(_ kind: Kind) { self.kind = kind }

    /// The pass's name ("fold-batchnorm").
    public var pass: String { kind.rawValue }

    /// Whether the pass changed the graph (any line other than a skip): how `fold` tells an
    /// already-folded input.
    public var changed: Bool { lines.contains { $0.action != .skipped } }

    mutating func record(
        _ action: Action, _ node: String, _ detail: String, target: String? = nil, through: [String] = [],
        factor: Double? = nil, reason: String? = nil, op: String? = nil, forward: Bool? = nil
    ) {
        lines.append(
            Line(
                action: action, node: node, detail: detail, target: target, through: through.isEmpty ? nil : through,
                factor: factor, reason: reason, op: op, forward: forward))
    }
}

/// A graph rewrite: a name, and a function from a graph to a graph plus its report.
public struct Pass: Sendable {
    /// Which rewrite this is; its raw value is the name `--passes` and the file use.
    public let kind: PassReport.Kind
    /// One line for `--help` and `--explain`: what the pass rewrites into what.
    public let summary: String
    let body: @Sendable (Graph, FoldOptions) throws(PassError) -> (Graph, PassReport)

    /// The pass's name ("fold-batchnorm"), as `--passes` takes it.
    public var name: String { kind.rawValue }

    init(
        _ kind: PassReport.Kind, summary: String,
        body: @escaping @Sendable (Graph, FoldOptions) throws(PassError) -> (Graph, PassReport)
    ) {
        self.kind = kind; self.summary = summary; self.body = body
    }

    /// Applies the pass alone (no validation first: `FoldPasses.fold` does that once for all).
    public func run(_ graph: Graph, options: FoldOptions = FoldOptions()) throws(PassError) -> (Graph, PassReport) {
        try body(graph, options)
    }
}

/// Settings that change what the passes compute, as opposed to which passes run.
public struct FoldOptions: Sendable {
    /// The element type the folded weights will be stored in: folding rounds once, from
    /// Float64 straight to it.
    public var storage: StorageElement = .float32
    /// Options for weights that will be stored as `storage` (Float32 by default).
    public init(storage: StorageElement = .float32) { self.storage = storage }

    /// The format's element types (one enum for the format and the passes).
    public typealias StorageElement = StorageFormat.ElementType

    /// `v` rounded once to the storage type (and held exactly as a Float).
    @inline(__always)
    func round(_ v: Double) -> Float {
        switch storage {
        case .float32: return Float(v)
        case .float16: return Float(Float16(v))
        case .bfloat16:
            // Round to nearest even at bit 16 of the binary32 encoding, from the double directly:
            // take the float nearest v with 8 significant bits.
            let f = Float(v)
            let bits = f.bitPattern
            let down = Float(bitPattern: bits & 0xFFFF_0000)
            let up = Float(bitPattern: (bits & 0xFFFF_0000) &+ 0x10000)
            if !f.isFinite || f == down { return f }
            let dDown = abs(v - Double(down)), dUp = abs(Double(up) - v)
            if dDown < dUp { return down }
            if dUp < dDown { return up }
            return (bits >> 16) & 1 == 0 ? down : up
        }
    }
}

/// Why folding refused to start; every case names what is wrong (the CLI exits 3 for an
/// invalid graph, 2 for an unknown pass name).
public enum PassError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidGraph(GraphError)
    case unknownPass(String, known: [String])
    /// One line, the graph error's own text or the unknown name with the known ones.
    public var description: String {
        switch self {
        case .invalidGraph(let e): return e.description
        case .unknownPass(let name, let known):
            return "unknown pass '\(name)'; passes: " + known.joined(separator: ", ")
        }
    }
}
