// The typed in-memory graph: the hub every module reads or produces.
import CNNFormat

/// One dimension of a declared input/output shape.
public enum Dimension: Sendable, Equatable, Hashable, CustomStringConvertible {
    case fixed(Int)
    /// A named size given at run time (the batch: "N").
    case symbol(String)
    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbol(let s): return s
        }
    }
}

/// A graph input or output: an activation, NCHW for images, NC for features.
public struct ValueInfo: Sendable, Equatable {
    public var name: String
    public var shape: [Dimension]
    public init(name: String, shape: [Dimension]) { self.name = name; self.shape = shape }

    /// The shape with every symbolic dimension set to `batch`.
    public func concreteShape(batch: Int) -> [Int] {
        shape.map { if case .fixed(let n) = $0 { return n } else { return batch } }
    }
}

public struct Node: Sendable, Equatable {
    public var name: String
    /// Activation inputs by value name; parameters live in `op`.
    public var inputs: [String]
    public var outputs: [String]
    public var op: Op
    public init(name: String, op: Op, inputs: [String], outputs: [String]) {
        self.name = name; self.op = op; self.inputs = inputs; self.outputs = outputs
    }
    public var output: String { outputs[0] }
}

/// A CNN: inputs, nodes in topological order, outputs; parameters held by the nodes' ops.
public struct Graph: Sendable, Equatable {
    public var name: String
    public var producer: String
    public var metadata: [String: String]
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    public var nodes: [Node]
    /// Names of the rewrites applied, in order ("fold-batchnorm", …).
    public var appliedPasses: [String]

    public init(name: String = "model", producer: String = Graph.defaultProducer, metadata: [String: String] = [:],
                inputs: [ValueInfo] = [], outputs: [ValueInfo] = [], nodes: [Node] = [], appliedPasses: [String] = []) {
        self.name = name; self.producer = producer; self.metadata = metadata
        self.inputs = inputs; self.outputs = outputs; self.nodes = nodes; self.appliedPasses = appliedPasses
    }

    public static let version = "0.1.0"
    public static let defaultProducer = "cnnconv \(version)"

    /// Every parameter tensor once, in node order (the order a writer stores them).
    public var parameters: [Tensor] {
        var seen = Set<String>()
        var out: [Tensor] = []
        for node in nodes { for (_, t) in node.op.parameters where seen.insert(t.name).inserted { out.append(t) } }
        return out
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// Index of the node producing `value`, or nil for a graph input.
    public func producerIndex(of value: String) -> Int? {
        nodes.firstIndex { $0.outputs.contains(value) }
    }

    /// Indices of the nodes that read `value`.
    public func consumerIndices(of value: String) -> [Int] {
        nodes.indices.filter { nodes[$0].inputs.contains(value) }
    }

    public func isGraphOutput(_ value: String) -> Bool { outputs.contains { $0.name == value } }

    /// Applies `transform` to every parameter tensor (e.g. to change storage format).
    public mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        for i in nodes.indices { try nodes[i].op.mapParameters(transform) }
    }
}

/// Value-name → consumers and producer lookups, built once for passes that ask many times.
public struct GraphIndex: Sendable {
    public let producer: [String: Int]
    public let consumers: [String: [Int]]
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
