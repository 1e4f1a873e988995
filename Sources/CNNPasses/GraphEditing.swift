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
