// Building a graph in code: for tests, fixtures, importers and users.

/// Appends nodes in order; each node's output value is named after the node.
///
///     var b = GraphBuilder(name: "tiny")
///     let x = b.input("x", [.symbol("N"), .fixed(3), .fixed(8), .fixed(8)])
///     let y = b.add("relu", .activation(.relu), x)
///     b.output(y)
///     let graph = try b.build()
public struct GraphBuilder: Sendable {
    /// The graph built so far (nodes appended, outputs not yet shape-inferred).
    public private(set) var graph: Graph

    /// An empty graph to append inputs and nodes to.
    public init(name: String = "model", metadata: [String: String] = [:]) {
        graph = Graph(name: name, metadata: metadata)
    }

    /// Declares a graph input and returns its name, to pass to the first nodes.
    @discardableResult
    public mutating func input(_ name: String, _ shape: [Dimension]) -> String {
        graph.inputs.append(ValueInfo(name: name, shape: shape))
        return name
    }

    /// Appends a node named `name` whose single output is also called `name`.
    @discardableResult
    public mutating func add(_ name: String, _ op: Op, _ inputs: String...) -> String {
        add(name, op, inputs: inputs)
    }

    /// The array form of `add(_:_:_:)`, for inputs computed at run time.
    @discardableResult
    public mutating func add(_ name: String, _ op: Op, inputs: [String]) -> String {
        graph.nodes.append(Node(name: name, op: op, inputs: inputs, outputs: [name]))
        return name
    }

    /// Marks `value` as a graph output; its shape is inferred when the graph is built.
    public mutating func output(_ value: String) {
        graph.outputs.append(ValueInfo(name: value, shape: []))
    }

    /// Validates the graph and fills in output shapes (symbolic where the first input's
    /// first dimension is).
    public func build() throws(GraphError) -> Graph {
        var g = graph
        try g.validateStructure()
        g.fillUndeclaredOutputShapes(try g.inferShapes(batch: 1))
        try g.validate()
        return g
    }
}
