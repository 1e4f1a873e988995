// 1-D convolution and pooling (Conv1d, BatchNorm1d, MaxPool1d of audio and sequence CNNs): an
// N×C×L value is carried as N×C×1×L ("lifted"), so that a 1-D Conv, ConvTranspose, MaxPool or
// AveragePool imports as the 2-D op with a 1×k window and everything downstream — BatchNorm
// folding, verification, export — sees the ops it knows. A lifted value stays lifted through
// ops that do not care about rank (BatchNorm, activations, Dropout, Flatten at axis 1) and is
// squeezed back to N×C×L, once, before any other op reads it and at the graph's outputs.
import CNNGraph

extension Importer {
    /// ONNX ops that read a lifted N×C×1×L value exactly as the N×C×L one it stands for; their
    /// first output is then lifted too (Flatten's is not: it is 2-D either way).
    static let liftPreserving: Set<String> = [
        "BatchNormalization", "InstanceNormalization", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid",
        "HardSwish", "Elu", "Selu", "Softplus", "Clip", "Dropout", "Identity", "GlobalAveragePool", "GlobalMaxPool",
    ]
    /// The 1-D forms of these become 2-D ops with a height-1 window.
    static let liftedWindowOps: Set<String> = ["Conv", "ConvTranspose", "MaxPool", "AveragePool"]

    /// `n` as the importer converts it: a 1-D conv/pool rewritten to its 2-D form on a lifted
    /// input, lifted inputs squeezed for ops that need N×C×L. Returns whether `n`'s first output
    /// is lifted.
    func liftFor1D(_ n: inout Onnx_NodeProto, name: String) throws(ONNXError) -> Bool {
        let op = n.opType
        guard let x = n.input.first, !x.isEmpty else { return false }
        if Self.liftedWindowOps.contains(op), lifted.contains(x) || shapes[x]?.count == 3 {
            n.input[0] = try unsqueezed(x, node: name, opType: op)
            if op == "Conv" || op == "ConvTranspose", n.input.count > 1, let w = consts[n.input[1]] {
                guard w.shape.count == 3 else {
                    throw .unsupportedUsage(
                        node: name, opType: op,
                        message: "the weight of a 1-D \(op) has shape \(formatShape(w.shape)); expected 3-D")
                }
                let w4 = n.input[1] + ".nc1k"
                if consts[w4] == nil {
                    consts[w4] = ConstTensor(
                        shape: [w.shape[0], w.shape[1], 1, w.shape[2]], values: w.values, name: w.name ?? n.input[1])
                }
                n.input[1] = w4
            }
            // Window attributes gain the height axis: kernel 1, stride 1, dilation 1, no padding.
            for i in n.attribute.indices {
                let a = n.attribute[i]
                if ["kernel_shape", "strides", "dilations", "output_padding", "output_shape"].contains(a.name),
                    a.ints.count == 1
                {
                    n.attribute[i].ints = [a.name == "output_padding" ? 0 : 1] + a.ints
                } else if a.name == "pads", a.ints.count == 2 {
                    n.attribute[i].ints = [0, a.ints[0], 0, a.ints[1]]
                }
            }
            note("1-D Conv/ConvTranspose/MaxPool/AveragePool are imported as 2-D ops with a 1×k window on N×C×1×L")
            return true
        }
        var liftsOutput = false
        for k in n.input.indices where lifted.contains(n.input[k]) {
            let keeps = k == 0 && Self.liftPreserving.contains(op)
            let flattens = k == 0 && op == "Flatten" && (n.attribute.first { $0.name == "axis" }?.i ?? 1) == 1
            if keeps {
                liftsOutput = true
            } else if !flattens {
                n.input[k] = try squeezed(n.input[k], node: name, opType: op)
            }
        }
        return liftsOutput
    }

    /// The N×C×1×L copy of the N×C×L value `x` (made once).
    func unsqueezed(_ x: String, node: String, opType: String) throws(ONNXError) -> String {
        if lifted.contains(x) { return x }
        return try copy(x, kind: "Unsqueeze", suffix: "nc1l", opType: opType, made: &liftedCopies)
    }

    /// The N×C×L copy of the lifted value `x` (made once).
    func squeezed(_ x: String, node: String, opType: String) throws(ONNXError) -> String {
        try copy(x, kind: "Squeeze", suffix: "ncl", opType: opType, made: &squeezedCopies)
    }

    /// `x` through a Squeeze or Unsqueeze of axis 2 into `x.suffix`, remembered in `made`.
    private func copy(
        _ x: String, kind: String, suffix: String, opType: String, made: inout [String: String]
    ) throws(ONNXError) -> String {
        if let v = made[x] { return v }
        let v = x + "." + suffix
        try emitAxis2(kind, x, into: v, node: x + ".to_" + suffix, opType: opType)
        made[x] = v
        return v
    }

    /// A Squeeze or Unsqueeze of axis 2 from `x` into `v`.
    private func emitAxis2(_ kind: String, _ x: String, into v: String, node: String, opType: String)
        throws(ONNXError)
    {
        let t = TensorOp(kind: kind, attributes: ["axes": .ints([2])], inputs: 1)
        try emit(uniqueNodeName(node), opType, .op(.tensor(t)), inputs: [x], output: v)
    }

    /// Graph outputs that are lifted get their ONNX rank back: the lifted value is renamed and
    /// squeezed into the output's name.
    func squeezeLiftedOutputs() throws(ONNXError) {
        for o in graphOutputs.sorted() where lifted.contains(o) {
            let inner = o + ".nc1l"
            for i in nodes.indices {
                nodes[i].inputs = nodes[i].inputs.map { $0 == o ? inner : $0 }
                nodes[i].outputs = nodes[i].outputs.map { $0 == o ? inner : $0 }
            }
            shapes[inner] = shapes[o]
            lifted.remove(o)
            lifted.insert(inner)
            try emitAxis2("Squeeze", inner, into: o, node: o + ".to_ncl", opType: "Squeeze")
        }
    }
}
