// Small graph surgery shared by the passes: bypassing a node, fresh names, dead-node removal.
import CNNGraph

extension Graph {
    /// Removes node `index`, whose single input passes through unchanged, and rewires its
    /// readers to its input. When its output is a graph output the producer's output is
    /// renamed instead, so output names never change; when that is impossible (the input is a
    /// graph input or also an output), returns false and leaves the graph as it was.
    mutating func bypass(nodeAt index: Int) -> Bool {
        let node = nodes[index]
        guard node.inputs.count == 1, node.outputs.count == 1 else { return false }
        let input = node.inputs[0], output = node.outputs[0]
        if isGraphOutput(output) {
            guard producerIndex(of: input) != nil, !isGraphOutput(input) else { return false }
            nodes.remove(at: index)
            // The producer now writes `output` directly; other readers of `input` follow.
            for i in nodes.indices {
                nodes[i].outputs = nodes[i].outputs.map { $0 == input ? output : $0 }
                nodes[i].inputs = nodes[i].inputs.map { $0 == input ? output : $0 }
            }
            return true
        }
        nodes.remove(at: index)
        for i in nodes.indices { nodes[i].inputs = nodes[i].inputs.map { $0 == output ? input : $0 } }
        return true
    }

    /// `bypass(nodeAt:)` for many nodes at once, in one sweep over the graph: the nodes must
    /// be pass-throughs (one input, one output) with disjoint neighbourhoods (no removed node
    /// reads another's output). A node whose output is a graph output is removed only when its
    /// producer can take that name (as `bypass(nodeAt:)` decides); otherwise it stays.
    mutating func bypass(nodesAt indices: [Int]) {
        let index = GraphIndex(self)
        let graphOutputs = Set(outputs.map(\.name))
        var drop = Set<Int>()
        var readerRename: [String: String] = [:], producerRename: [String: String] = [:]
        for i in indices {
            let node = nodes[i]
            guard node.inputs.count == 1, node.outputs.count == 1 else { continue }
            let input = node.inputs[0], output = node.outputs[0]
            if graphOutputs.contains(output) {
                guard index.producer[input] != nil, !graphOutputs.contains(input) else { continue }
                producerRename[input] = output
                readerRename[input] = output
            } else {
                readerRename[output] = input
            }
            drop.insert(i)
        }
        var kept: [Node] = []
        kept.reserveCapacity(nodes.count - drop.count)
        for (i, var node) in nodes.enumerated() where !drop.contains(i) {
            node.inputs = node.inputs.map { readerRename[$0] ?? $0 }
            node.outputs = node.outputs.map { producerRename[$0] ?? $0 }
            kept.append(node)
        }
        nodes = kept
    }

    /// A tensor name not used by any parameter: `base`, else `base_1`, `base_2`, …
    func freshTensorName(_ base: String) -> String {
        let taken = Set(parameters.map(\.name))
        if !taken.contains(base) { return base }
        var i = 1
        while taken.contains("\(base)_\(i)") { i += 1 }
        return "\(base)_\(i)"
    }

    /// Removes nodes none of whose outputs is read or is a graph output; returns their names.
    mutating func removeDeadNodes() -> [String] {
        var removed: [String] = []
        var changed = true
        while changed {
            changed = false
            let used = Set(nodes.flatMap(\.inputs)).union(outputs.map(\.name))
            if let i = nodes.lastIndex(where: { n in !n.outputs.contains(where: used.contains) }) {
                removed.append(nodes[i].name)
                nodes.remove(at: i)
                changed = true
            }
        }
        return removed
    }
}
