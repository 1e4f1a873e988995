// Which BatchNorm and Dropout nodes fold into a neighbouring layer, and why not: the one place
// these rules live. `inspect` reports them; the fold passes (CNNPasses) carry them out.

/// What inference does with one BatchNorm node.
public enum BatchNormPlan: Sendable, Equatable {
    /// Scale and shift the producing Conv2d/ConvTranspose2d/Linear's weights and bias.
    case intoProducer(node: String)
    /// Scale the following Linear/Conv2d's input weights and shift its bias (exact when the
    /// consumer pads nothing); `through` lists Flatten/inverted Dropout/Identity nodes in between.
    case intoConsumer(node: String, through: [String])
    /// Stays as a per-channel affine y = a·x + b; the reason says why it cannot fold.
    case affine(reason: String)
}

/// What inference does with one Dropout node.
public enum DropoutPlan: Sendable, Equatable {
    /// Inverted dropout (or rate 0) is the identity at inference.
    case remove
    /// Classic dropout: multiply the consumer's weights by keep = 1 − p.
    case scaleConsumer(node: String, keep: Double)
    /// Classic dropout: multiply the producer's weights and bias by keep, through
    /// positively homogeneous ops (ReLU, max pool) listed in `through`.
    case scaleProducer(node: String, keep: Double, through: [String])
    /// Classic dropout with no layer to absorb it: an affine ×keep.
    case affine(keep: Double, reason: String)
}

/// The fold plan of every BatchNorm, Affine and Dropout node of a graph, computed once: the
/// single place the folding rules live, so `inspect` (which explains them) and the fold passes
/// (which carry them out) cannot disagree.
public struct FoldingAnalysis: Sendable {
    /// Plans for BatchNorm nodes, and for Affine nodes, which fold the same way.
    public let batchNorm: [String: BatchNormPlan]
    /// Plans for Dropout nodes, by node name.
    public let dropout: [String: DropoutPlan]

    /// Analyses `graph`. Where shape inference fails, the rules that need shapes see none
    /// (`inspect` still explains the rest of a graph it cannot fully check).
    public init(_ graph: Graph) {
        let index = GraphIndex(graph)
        let shapes = (try? graph.inferShapes()) ?? [:]
        var bn: [String: BatchNormPlan] = [:]
        var dropout: [String: DropoutPlan] = [:]
        for node in graph.nodes {
            switch node.op {
            case .batchNorm, .affine:
                bn[node.name] = Self.plan(batchNorm: node, graph: graph, index: index, shapes: shapes, planned: bn)
            case .dropout(let d): dropout[node.name] = Self.plan(dropout: node, d, graph: graph, index: index)
            default: break
            }
        }
        self.batchNorm = bn
        self.dropout = dropout
    }

    /// The single consumer of `value`, if exactly one node reads it and it is not a graph output.
    static func soleConsumer(of value: String, graph: Graph, index: GraphIndex) -> Int? {
        guard !graph.isGraphOutput(value), let c = index.consumers[value], c.count == 1,
            graph.nodes[c[0]].inputs.filter({ $0 == value }).count == 1
        else { return nil }
        return c[0]
    }

    static func describeUses(of value: String, except node: String, graph: Graph, index: GraphIndex) -> String {
        if graph.isGraphOutput(value) { return "it is also a graph output" }
        let others = (index.consumers[value] ?? []).map { graph.nodes[$0].name }.filter { $0 != node }
        if others.isEmpty { return "it is read twice by \(node)" }
        return "it also feeds " + others.prefix(3).joined(separator: ", ") + (others.count > 3 ? ", …" : "")
    }

    /// Per-channel scaling (axis 1) commutes into a Linear only when axis 1 is its feature axis.
    /// `planned` holds the plans of the nodes before this one (graph order): a BatchNorm whose
    /// producer is a BatchNorm/Affine that itself folds into its producer folds into the same
    /// layer (conv → Add(bias) → BatchNorm: the fold passes take one per round, in order).
    static func plan(
        batchNorm node: Node, graph: Graph, index: GraphIndex, shapes: ShapeMap, planned: [String: BatchNormPlan] = [:]
    ) -> BatchNormPlan {
        let input = node.inputs.first ?? ""
        let rank = shapes[input]?.count
        var reasons: [String] = []
        if let p = index.producer[input] {
            let producer = graph.nodes[p]
            switch producer.op {
            case .linear where rank != 2:
                reasons.append("its producer \(producer.name) is a Linear whose output is not [N, features]")
            case .conv2d, .convTranspose2d, .linear:
                if soleConsumer(of: input, graph: graph, index: index) != nil {
                    return .intoProducer(node: producer.name)
                }
                reasons.append(
                    "\(producer.name)'s output cannot change: "
                        + describeUses(of: input, except: node.name, graph: graph, index: index))
            case .batchNorm, .affine:
                if case .intoProducer(let layer)? = planned[producer.name] {
                    if soleConsumer(of: input, graph: graph, index: index) != nil { return .intoProducer(node: layer) }
                    reasons.append(
                        "\(producer.name) folds into \(layer), but its output cannot change: "
                            + describeUses(of: input, except: node.name, graph: graph, index: index))
                } else {
                    reasons.append("its producer \(producer.name) is \(producer.op.kindName), not a conv or linear")
                }
            default:
                reasons.append("its producer \(producer.name) is \(producer.op.kindName), not a conv or linear")
            }
        } else {
            reasons.append("its input is the graph input \(input)")
        }
        // Forward: BN → [Flatten | Dropout | Identity]* → Linear, or → Conv2d without padding.
        var value = node.output
        var through: [String] = []
        while let c = soleConsumer(of: value, graph: graph, index: index) {
            let consumer = graph.nodes[c]
            switch consumer.op {
            case .flatten(let axis) where axis == 1 || (rank.map { axis == 1 - $0 } ?? false):
                through.append(consumer.name)
                value = consumer.output
                continue
            case .identity:
                through.append(consumer.name)
                value = consumer.output
                continue
            case .dropout(let d) where d.convention == .inverted || d.rate == 0:
                // Identity at inference. A classic dropout scales the shift too: fold it first.
                through.append(consumer.name)
                value = consumer.output
                continue
            case .linear
            where shapes[consumer.inputs[0]]?.count == 2
                && (rank == 2 || through.contains { graph.node(named: $0)?.op.kindName == "Flatten" }):
                return .intoConsumer(node: consumer.name, through: through)
            case .conv2d(let conv):
                if !conv.window.hasPadding { return .intoConsumer(node: consumer.name, through: through) }
                reasons.append("the following \(consumer.name) pads with zeros, which a folded shift would not see")
            default:
                break
            }
            break
        }
        return .affine(reason: reasons.joined(separator: "; "))
    }

    static func plan(dropout node: Node, _ d: Dropout, graph: Graph, index: GraphIndex) -> DropoutPlan {
        if d.convention == .inverted || d.rate == 0 { return .remove }
        let keep = d.keepProbability
        // Forward: → [Flatten | Identity | inverted Dropout]* → Conv2d/Linear: scale its weights.
        var value = node.output
        while let c = soleConsumer(of: value, graph: graph, index: index) {
            let consumer = graph.nodes[c]
            switch consumer.op {
            case .conv2d, .linear:
                return .scaleConsumer(node: consumer.name, keep: keep)
            case .flatten, .identity:
                value = consumer.output
                continue
            default:
                break
            }
            break
        }
        // Backward: Conv/Linear → [ReLU | LeakyReLU | MaxPool]* → dropout: scale the producer.
        var through: [String] = []
        var input = node.inputs.first ?? ""
        while let p = index.producer[input], soleConsumer(of: input, graph: graph, index: index) != nil {
            let producer = graph.nodes[p]
            switch producer.op {
            case .conv2d, .convTranspose2d, .linear:
                return .scaleProducer(node: producer.name, keep: keep, through: through.reversed())
            case .activation(let a) where a.isPositivelyHomogeneous:
                through.append(producer.name)
            case .pool2d(let pool) where pool.kind == .max:
                through.append(producer.name)
            case .globalPool(.max), .flatten, .identity:
                through.append(producer.name)
            default:
                return .affine(
                    keep: keep,
                    reason:
                        "\(producer.name) (\(producer.op.kindName)) between it and a conv/linear does not commute with scaling"
                )
            }
            input = producer.inputs.first ?? ""
        }
        if index.producer[input] == nil {
            return .affine(keep: keep, reason: "no conv or linear reads it alone, and it sits on the graph input")
        }
        return .affine(keep: keep, reason: "no conv or linear reads it alone, and its input is shared")
    }
}
