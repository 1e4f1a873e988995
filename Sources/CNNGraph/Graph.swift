// The typed in-memory graph: the hub every module reads or produces.
import CNNFormat

/// One dimension of a declared input/output shape.
public enum Dimension: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// A size known when the file is written (channels, height, width).
    case fixed(Int)
    /// A named size given at run time (the batch: "N").
    case symbol(String)
    /// The dimension as a shape printout shows it: the number, or the symbol's name.
    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbol(let s): return s
        }
    }
}

/// A graph input or output: an activation, NCHW for images, NC for features.
public struct ValueInfo: Sendable, Equatable {
    /// The value's name, which nodes list in their `inputs`/`outputs` and a caller feeds or reads.
    public var name: String
    /// Declared dimensions, outermost first; symbolic ones take the batch size at run time.
    public var shape: [Dimension]
    /// A value as a file or importer declares it; nothing is checked until `Graph.validate`.
    public init(name: String, shape: [Dimension]) { self.name = name; self.shape = shape }

    /// The shape with every symbolic dimension set to `batch`.
    public func concreteShape(batch: Int) -> [Int] {
        shape.map { if case .fixed(let n) = $0 { return n } else { return batch } }
    }
}

/// One operation of the graph: which values it reads and writes by name, and its `Op`, which
/// holds the attributes and parameter tensors. Values are wired by name so that a pass can
/// rewrite a node without touching the nodes around it.
public struct Node: Sendable, Equatable {
    /// Unique within the graph; errors, reports and fold plans name nodes by it.
    public var name: String
    /// Activation inputs by value name; parameters live in `op`.
    public var inputs: [String]
    /// Value names this node produces; unique across the graph (most ops produce one).
    public var outputs: [String]
    /// What the node computes, with its attributes and parameter tensors.
    public var op: Op
    /// A node as read from a file or built in code; wiring is checked by `Graph.validate`.
    public init(name: String, op: Op, inputs: [String], outputs: [String]) {
        self.name = name; self.op = op; self.inputs = inputs; self.outputs = outputs
    }
    /// The first output, for the single-output ops that make up almost every CNN (traps when
    /// `outputs` is empty: call it only on a validated graph).
    public var output: String { outputs[0] }
}

/// A CNN: inputs, nodes in topological order, outputs; parameters held by the nodes' ops.
public struct Graph: Sendable, Equatable {
    /// The model's name as stored in the file (for reports and exported files).
    public var name: String
    /// The tool that wrote the file (`defaultProducer` for ours), kept for provenance.
    public var producer: String
    /// Free-form key/value pairs a file carries through conversion untouched (training run,
    /// recalibration notes, …).
    public var metadata: [String: String]
    /// The values a caller feeds, in the order the executor and the file list them.
    public var inputs: [ValueInfo]
    /// The values a caller reads back; they are never fused away or overwritten in place.
    public var outputs: [ValueInfo]
    /// Every node in topological order (each reads only graph inputs or earlier nodes' outputs).
    public var nodes: [Node]
    /// Names of the rewrites applied, in order ("fold-batchnorm", …).
    public var appliedPasses: [String]

    /// A graph from parts, unchecked: call `validate()` before running or writing it.
    public init(
        name: String = "model", producer: String = Graph.defaultProducer, metadata: [String: String] = [:],
        inputs: [ValueInfo] = [], outputs: [ValueInfo] = [], nodes: [Node] = [], appliedPasses: [String] = []
    ) {
        self.name = name; self.producer = producer; self.metadata = metadata
        self.inputs = inputs; self.outputs = outputs; self.nodes = nodes; self.appliedPasses = appliedPasses
    }

    /// This library's version, stamped into the files it writes via `defaultProducer`.
    public static let version = "0.1.0"
    /// The producer string of graphs made here, so a file says which cnnconv wrote it.
    public static let defaultProducer = "cnnconv \(version)"

    /// Every parameter tensor once, in node order (the order a writer stores them).
    public var parameters: [Tensor] {
        var seen = Set<String>()
        var out: [Tensor] = []
        for node in nodes { for (_, t) in node.op.parameters where seen.insert(t.name).inserted { out.append(t) } }
        return out
    }

    /// Total number of parameter elements (each shared tensor once): a model's size at a glance.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// The node called `name`, or nil; a linear search, so build a `GraphIndex` for many lookups.
    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// Index of the node producing `value`, or nil for a graph input.
    public func producerIndex(of value: String) -> Int? {
        nodes.firstIndex { $0.outputs.contains(value) }
    }

    /// Whether `value` is read by the caller, which forbids fusing it away or reusing its buffer.
    public func isGraphOutput(_ value: String) -> Bool { outputs.contains { $0.name == value } }

    /// Applies `transform` to every parameter tensor (e.g. to change storage format).
    public mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        for i in nodes.indices { try nodes[i].op.mapParameters(transform) }
    }
}

/// Value-name → consumers and producer lookups, built once for passes that ask many times.
public struct GraphIndex: Sendable {
    /// For each value, the index of the node that produces it (graph inputs are absent).
    public let producer: [String: Int]
    /// For each value, the indices of the nodes that read it, in order, each node once.
    public let consumers: [String: [Int]]
    /// Indexes `graph` in one pass over its nodes; rebuild it after the graph changes.
    public init(_ graph: Graph) {
        var producer: [String: Int] = [:]
        var consumers: [String: [Int]] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for o in node.outputs { producer[o] = i }
            for input in node.inputs where consumers[input]?.last != i { consumers[input, default: []].append(i) }
        }
        self.producer = producer
        self.consumers = consumers
    }
}
