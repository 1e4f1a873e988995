// The export side of Import1D: a graph that carries N×C×L as N×C×1×L (Unsqueeze on axis 2 →
// 2-D convs/pools with a 1×k window → Squeeze on axis 2) is written back as 1-D ONNX — Conv,
// ConvTranspose, MaxPool and AveragePool with 1-D windows on N×C×L, no Unsqueeze/Squeeze — as
// torch.onnx.export writes Conv1d. All or nothing: when any reader of a lifted value is not one
// this pass knows to be rank-blind, the graph is written as it is (2-D, still correct).
import CNNGraph

enum Export1D {
    /// ONNX ops that compute the same on N×C×1×L as on N×C×L (elementwise on any shape, or per
    /// channel over all spatial positions): their outputs stay lifted.
    static let rankBlind: Set<String> = [
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus", "Clip",
        "Identity", "Dropout", "BatchNormalization", "InstanceNormalization", "GlobalAveragePool", "GlobalMaxPool",
        "Erf", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal",
    ]
    static let windowed: Set<String> = ["Conv", "ConvTranspose", "MaxPool", "AveragePool"]

    /// Rewrites `nodes` and `initializers` in place when the lifted region can be written 1-D.
    static func lower(
        nodes: inout [Onnx_NodeProto], initializers: inout [Onnx_TensorProto], graphOutputs: Set<String>,
        rank: (String) -> Int?
    ) {
        var initializerIndex: [String: Int] = [:]
        for (i, t) in initializers.enumerated() { initializerIndex[t.name] = i }
        func isAxis2(_ n: Onnx_NodeProto) -> Bool {
            guard n.input.count == 2, let i = initializerIndex[n.input[1]] else { return false }
            return initializers[i].int64Data == [2]
        }
        func ints(_ n: Onnx_NodeProto, _ key: String) -> [Int64]? { n.attribute.first { $0.name == key }?.ints }
        var lifted = Set<String>()
        var drop = Set<Int>()  // Unsqueeze/Squeeze nodes to remove
        var rename: [String: String] = [:]
        var weights: [String: Int] = [:]  // conv weights to reshape → the number of converted readers
        var windows: [Int] = []
        for (i, n) in nodes.enumerated() {
            let reads = n.input.filter { lifted.contains($0) }
            if n.opType == "Unsqueeze", isAxis2(n), reads.isEmpty, rank(n.input[0]) == 3 {
                guard let o = n.output.first, !graphOutputs.contains(o) else { return }
                lifted.insert(o); drop.insert(i); rename[o] = n.input[0]
                continue
            }
            if reads.isEmpty { continue }
            switch n.opType {
            case "Squeeze" where isAxis2(n) && n.input[0] == reads[0]:
                drop.insert(i)
                // The 3-D value keeps the Squeeze's name when it is a graph output.
                guard let o = n.output.first else { return }
                if graphOutputs.contains(o) {
                    if rename[n.input[0]] != nil || graphOutputs.contains(n.input[0]) { return }
                    rename[n.input[0]] = o
                } else {
                    rename[o] = n.input[0]
                }
            case let op where windowed.contains(op):
                guard n.input[0] == reads[0], reads.count == 1, ints(n, "kernel_shape")?.count ?? 2 == 2,
                    (ints(n, "kernel_shape") ?? [1]).first == 1, ints(n, "strides")?.first ?? 1 == 1,
                    ints(n, "dilations")?.first ?? 1 == 1,
                    (ints(n, "pads") ?? [0, 0, 0, 0]).enumerated().allSatisfy({ $0.offset % 2 == 1 || $0.element == 0 }
                    ),
                    ints(n, "output_padding")?.first ?? 0 == 0
                else { return }
                if op == "Conv" || op == "ConvTranspose" {
                    guard n.input.count > 1, let w = initializerIndex[n.input[1]], initializers[w].dims.count == 4,
                        initializers[w].dims[2] == 1
                    else { return }
                    weights[n.input[1], default: 0] += 1
                }
                windows.append(i)
                lifted.formUnion(n.output.prefix(1))
            case let op where rankBlind.contains(op):
                // Only the data input may be lifted (weights, bounds, statistics are constants).
                guard reads == [n.input[0]] else { return }
                lifted.formUnion(n.output.prefix(1))
            case "Add", "Sub", "Mul", "Div":
                // Two lifted values of the same shape (a residual Add, x·sigmoid(x)).
                guard n.input.count == 2, reads.count == 2 else { return }
                lifted.formUnion(n.output.prefix(1))
            case "Flatten":
                let axis = n.attribute.first { $0.name == "axis" }?.i ?? 1
                guard axis == 1 else { return }
            default:
                return
            }
        }
        if drop.isEmpty || !lifted.isDisjoint(with: graphOutputs) { return }
        // A weight shared with a node left 2-D cannot lose its height axis.
        for (name, converted) in weights {
            let readers = nodes.reduce(0) { $0 + $1.input.filter { $0 == name }.count }
            if readers != converted { return }
        }
        for name in weights.keys {
            if let w = initializerIndex[name] { initializers[w].dims.remove(at: 2) }
        }
        for i in windows {
            for k in nodes[i].attribute.indices {
                let a = nodes[i].attribute[k]
                switch a.name {
                case "kernel_shape", "strides", "dilations", "output_padding", "output_shape":
                    if a.ints.count == 2 { nodes[i].attribute[k].ints = [a.ints[1]] }
                case "pads":
                    if a.ints.count == 4 { nodes[i].attribute[k].ints = [a.ints[1], a.ints[3]] }
                default: break
                }
            }
        }
        func resolve(_ v: String) -> String {
            var v = v, steps = 0
            while let r = rename[v], steps <= rename.count { v = r; steps += 1 }
            return v
        }
        nodes = nodes.enumerated().filter { !drop.contains($0.offset) }.map { _, n in
            var n = n
            n.input = n.input.map { $0.isEmpty ? $0 : resolve($0) }
            n.output = n.output.map { $0.isEmpty ? $0 : resolve($0) }
            return n
        }
        let used = Set(nodes.flatMap(\.input))
        initializers.removeAll { !used.contains($0.name) }
    }
}
