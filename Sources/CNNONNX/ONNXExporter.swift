// Graph → ONNX. One or a few standard ONNX nodes per graph node, at the lowest opset that
// expresses the graph exactly in onnxruntime (17; 19 for AveragePool features ORT fixed there;
// 21 for per-channel GroupNormalization). A fused pattern keeps its name on its last ONNX node,
// so that export → import gives the same graph.
import CNNFormat
import CNNGraph
import Foundation
import SwiftProtobuf

public enum ONNXExporter {
    /// The opset `graph` exports at.
    public static func opset(for graph: Graph) -> Int {
        var opset = 17
        for n in graph.nodes {
            switch n.op {
            case .pool2d(let p) where p.kind == .average && ((p.ceilMode && p.countIncludePad) || p.window.dilationH != 1 || p.window.dilationW != 1):
                opset = max(opset, 19)
            case .groupNorm: opset = max(opset, 21)
            case .tensor(let t): opset = max(opset, ExportWriter.minimumOpset(t))
            default: break
            }
        }
        return opset
    }

    /// The serialized ModelProto.
    public static func export(_ graph: Graph) throws(ONNXError) -> Data {
        let model = try exportModel(graph)
        do { return try model.serializedBytes() } catch {
            throw .exportUnsupported(node: graph.name, message: "serialization failed: \(error)")
        }
    }

    /// Writes the ONNX file atomically (temporary file in the same folder, then rename).
    public static func write(_ graph: Graph, to path: String) throws(ONNXError) {
        let data = try export(graph)
        do { try AtomicFileWriter.write(data, to: path) } catch {  // CNNFormat: checks the destination
            throw .io(path: path, message: "cannot write: \(error)")
        }
    }

    package static func exportModel(_ graph: Graph) throws(ONNXError) -> Onnx_ModelProto {
        let shapes: ShapeMap
        do {
            try graph.validateStructure()
            shapes = try graph.inferShapes(batch: 1)
        } catch {
            throw .invalidGraph(error)
        }
        var writer = ExportWriter(graph: graph, shapes: shapes)
        for node in graph.nodes { try writer.add(node) }

        let opset = opset(for: graph)
        var g = Onnx_GraphProto()
        g.name = graph.name
        g.node = writer.nodes
        g.initializer = writer.initializers
        g.input = graph.inputs.map { valueInfo($0.name, $0.shape) }
        g.output = try graph.outputs.map { (o) throws(ONNXError) -> Onnx_ValueInfoProto in valueInfo(o.name, try outputShape(o, graph: graph, shapes: shapes)) }

        var model = Onnx_ModelProto()
        model.irVersion = opset >= 21 ? 10 : opset >= 19 ? 9 : 8
        model.producerName = "cnnconv"
        model.producerVersion = Graph.version
        var set = Onnx_OperatorSetIdProto()
        set.domain = ""
        set.version = Int64(opset)
        model.opsetImport = [set]
        model.graph = g
        model.metadataProps = graph.metadata.sorted { $0.key < $1.key }.map { kv in
            var e = Onnx_StringStringEntryProto(); e.key = kv.key; e.value = kv.value; return e
        }
        return model
    }

    /// The declared shape, or the inferred one with batch-dependent dimensions symbolic.
    static func outputShape(_ o: ValueInfo, graph: Graph, shapes: ShapeMap) throws(ONNXError) -> [CNNGraph.Dimension] {
        if !o.shape.isEmpty { return o.shape }
        let other: ShapeMap
        do { other = try graph.inferShapes(batch: 2) } catch { throw .invalidGraph(error) }
        guard let a = shapes[o.name], let b = other[o.name] else { return [] }
        return zip(a, b).map { $0 == $1 ? .fixed($0) : .symbol("N") }
    }

    static func valueInfo(_ name: String, _ shape: [CNNGraph.Dimension]) -> Onnx_ValueInfoProto {
        var t = Onnx_TypeProto.Tensor()
        t.elemType = ONNXDataType.float.rawValue
        var s = Onnx_TensorShapeProto()
        s.dim = shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let n): dim.dimValue = Int64(n)
            case .symbol(let p): dim.dimParam = p
            }
            return dim
        }
        t.shape = s
        var type = Onnx_TypeProto()
        type.tensorType = t
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type = type
        return v
    }
}

struct ExportWriter {
    let graph: Graph
    let shapes: ShapeMap
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var initializerNames = Set<String>()
    var valueNames: Set<String>

    init(graph: Graph, shapes: ShapeMap) {
        self.graph = graph; self.shapes = shapes
        var names = Set(graph.inputs.map(\.name))
        for n in graph.nodes { names.formUnion(n.outputs) }
        valueNames = names
    }

    /// A name no value or initializer uses yet.
    mutating func fresh(_ base: String) -> String {
        var name = base, k = 1
        while valueNames.contains(name) || initializerNames.contains(name) { name = "\(base)_\(k)"; k += 1 }
        valueNames.insert(name)
        return name
    }

    /// Adds an initializer; a graph tensor keeps its name (shared tensors are written once).
    mutating func initializer(_ name: String, shape: [Int], floats: [Float], shared: Bool = false) -> String {
        if shared && initializerNames.contains(name) { return name }
        let n = shared && !valueNames.contains(name) ? name : fresh(name)
        initializerNames.insert(n)
        var t = Onnx_TensorProto()
        t.name = n
        t.dataType = ONNXDataType.float.rawValue
        t.dims = shape.map { Int64($0) }
        var data = Data(capacity: floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        initializers.append(t)
        return n
    }

    /// An int64 initializer, 1-D unless `shape` says otherwise.
    mutating func ints(_ name: String, _ values: [Int], shape: [Int]? = nil) -> String {
        let n = fresh(name)
        initializerNames.insert(n)
        var t = Onnx_TensorProto()
        t.name = n
        t.dataType = ONNXDataType.int64.rawValue
        t.dims = (shape ?? [values.count]).map { Int64($0) }
        t.int64Data = values.map { Int64($0) }
        initializers.append(t)
        return n
    }

    mutating func param(_ t: Tensor, shape: [Int]? = nil) -> String {
        initializer(t.name, shape: shape ?? t.shape, floats: t.array, shared: shape == nil || shape == t.shape)
    }

    mutating func node(_ opType: String, _ name: String, _ inputs: [String], _ outputs: [String], _ attrs: [Onnx_AttributeProto] = []) {
        var n = Onnx_NodeProto()
        n.opType = opType
        n.name = name
        n.input = inputs
        n.output = outputs
        n.attribute = attrs
        nodes.append(n)
    }

    static func attr(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = ints.map { Int64($0) }; return a
    }
    static func attr(_ name: String, int: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(int); return a
    }
    static func attr(_ name: String, float: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = float; return a
    }
    static func attr(_ name: String, string: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(string.utf8); return a
    }

    static func windowAttrs(_ w: Window2d, dilation: Bool = true) -> [Onnx_AttributeProto] {
        var a = [attr("kernel_shape", ints: [w.kernelH, w.kernelW]), attr("strides", ints: [w.strideH, w.strideW]),
                 attr("pads", ints: [w.padTop, w.padLeft, w.padBottom, w.padRight])]
        if dilation { a.append(attr("dilations", ints: [w.dilationH, w.dilationW])) }
        return a
    }

    /// The weight a reparameterized conv/linear uses (w = g·v/‖v‖, or standardized), in Float64.
    static func effectiveWeight(_ weight: Tensor, _ r: WeightReparameterization?) -> [Float] {
        let v = weight.array
        guard let r, let out = weight.shape.first, out > 0 else { return v }
        let per = v.count / out
        var w = [Float](repeating: 0, count: v.count)
        for o in 0..<out {
            let row = v[(o * per)..<((o + 1) * per)].map(Double.init)
            switch r {
            case .weightNorm(let gain):
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let g = Double(gain.values[o])
                for k in 0..<per { w[o * per + k] = Float(norm > 0 ? g * row[k] / norm : 0) }
            case .weightStandardization(let eps):
                let mean = row.reduce(0, +) / Double(per)
                let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(per)
                for k in 0..<per { w[o * per + k] = Float((row[k] - mean) / (variance + eps).squareRoot()) }
            }
        }
        return w
    }

    /// A per-channel vector shaped to broadcast over axis 1 of a rank-`rank` value.
    static func channelShape(_ c: Int, rank: Int) -> [Int] { [c] + [Int](repeating: 1, count: max(rank - 2, 0)) }

    mutating func add(_ n: Node) throws(ONNXError) {
        let x = n.inputs.first ?? ""
        let y = n.output
        let rank = shapes[x]?.count ?? 4
        typealias A = ExportWriter
        switch n.op {
        case .tensor(let t):
            try addTensorOp(n, t)
        case .conv2d(let c):
            let w = c.reparameterization == nil ? param(c.weight)
                : initializer(c.weight.name, shape: c.weight.shape, floats: A.effectiveWeight(c.weight, c.reparameterization))
            var ins = [x, w]
            if let b = c.bias { ins.append(param(b, shape: [b.count])) }
            node("Conv", n.name, ins, [y], A.windowAttrs(c.window) + [A.attr("group", int: c.groups)])
        case .convTranspose2d(let c):
            var ins = [x, param(c.weight)]
            if let b = c.bias { ins.append(param(b, shape: [b.count])) }
            node("ConvTranspose", n.name, ins, [y], A.windowAttrs(c.window) + [A.attr("group", int: c.groups),
                 A.attr("output_padding", ints: [c.outputPadding.h, c.outputPadding.w])])
        case .batchNorm(let b):
            let channels = b.channels
            let scale = b.scale.map { param($0, shape: [channels]) } ?? initializer("\(n.name).scale", shape: [channels], floats: .init(repeating: 1, count: channels))
            let bias = b.bias.map { param($0, shape: [channels]) } ?? initializer("\(n.name).bias", shape: [channels], floats: .init(repeating: 0, count: channels))
            node("BatchNormalization", n.name, [x, scale, bias, param(b.runningMean, shape: [channels]), param(b.runningVariance, shape: [channels])], [y],
                 [A.attr("epsilon", float: Float(b.epsilon)), A.attr("momentum", float: Float(1 - b.momentum))])
        case .dropout(let d):
            if d.convention == .classic {
                // Classic dropout scales by the keep probability at inference.
                let keep = initializer("\(n.name).keep_probability", shape: [], floats: [Float(d.keepProbability)])
                node("Mul", n.name, [x, keep], [y])
            } else {
                let ratio = initializer("\(n.name).ratio", shape: [], floats: [Float(d.rate)])
                node("Dropout", n.name, [x, ratio], [y])
            }
        case .linear(let l):
            let w = A.effectiveWeight(l.weight, l.reparameterization)
            if rank == 2 {
                var ins = [x, initializer(l.weight.name, shape: l.weight.shape, floats: w, shared: l.reparameterization == nil)]
                if let b = l.bias { ins.append(param(b, shape: [b.count])) }
                node("Gemm", n.name, ins, [y], [A.attr("transB", int: 1)])
            } else {
                let (out, inF) = (l.outFeatures, l.inFeatures)
                let transposed = (0..<(out * inF)).map { w[($0 % out) * inF + $0 / out] }
                let wt = initializer(l.weight.name, shape: [inF, out], floats: transposed)
                if let b = l.bias {
                    let mid = fresh("\(y).matmul")
                    node("MatMul", "\(n.name).matmul", [x, wt], [mid])
                    node("Add", n.name, [mid, param(b, shape: [b.count])], [y])
                } else {
                    node("MatMul", n.name, [x, wt], [y])
                }
            }
        case .activation(let a):
            switch a {
            case .relu: node("Relu", n.name, [x], [y])
            case .sigmoid: node("Sigmoid", n.name, [x], [y])
            case .tanh: node("Tanh", n.name, [x], [y])
            case .hardSwish: node("HardSwish", n.name, [x], [y])
            case .leakyRelu(let alpha): node("LeakyRelu", n.name, [x], [y], [A.attr("alpha", float: alpha)])
            case .hardSigmoid(let alpha, let beta):
                node("HardSigmoid", n.name, [x], [y], [A.attr("alpha", float: alpha), A.attr("beta", float: beta)])
            case .clip(let lo, let hi):
                let minName = lo == -.infinity ? "" : initializer("\(n.name).min", shape: [], floats: [lo])
                var ins = [x, minName]
                if hi != .infinity { ins.append(initializer("\(n.name).max", shape: [], floats: [hi])) }
                node("Clip", n.name, ins, [y])
            case .silu:
                let s = fresh("\(y).sigmoid")
                node("Sigmoid", "\(n.name).sigmoid", [x], [s])
                node("Mul", n.name, [x, s], [y])
            }
        case .pool2d(let p):
            if p.kind == .max {
                node("MaxPool", n.name, [x], [y], A.windowAttrs(p.window) + [A.attr("ceil_mode", int: p.ceilMode ? 1 : 0)])
            } else {
                let dilated = p.window.dilationH != 1 || p.window.dilationW != 1
                node("AveragePool", n.name, [x], [y], A.windowAttrs(p.window, dilation: dilated) + [
                    A.attr("ceil_mode", int: p.ceilMode ? 1 : 0), A.attr("count_include_pad", int: p.countIncludePad ? 1 : 0)])
            }
        case .globalPool(let k): node(k == .max ? "GlobalMaxPool" : "GlobalAveragePool", n.name, [x], [y])
        case .flatten(let axis): node("Flatten", n.name, [x], [y], [A.attr("axis", int: axis)])
        case .add: node(n.inputs.count == 2 ? "Add" : "Sum", n.name, n.inputs, [y])
        case .mul: node("Mul", n.name, n.inputs, [y])
        case .concat(let axis): node("Concat", n.name, n.inputs, [y], [A.attr("axis", int: axis)])
        case .softmax(let axis): node("Softmax", n.name, [x], [y], [A.attr("axis", int: axis)])
        case .affine(let a):
            let shape = A.channelShape(a.channels, rank: rank)
            let mid = fresh("\(y).scaled")
            node("Mul", "\(n.name).scale", [x, param(a.scale, shape: shape)], [mid])
            node("Add", n.name, [mid, param(a.shift, shape: shape)], [y])
        case .layerNorm(let l):
            guard let s = shapes[x] else { throw .exportUnsupported(node: n.name, message: "input shape unknown") }
            let axis = l.axis < 0 ? l.axis + s.count : l.axis
            let normalized = Array(s[axis...])
            let count = normalized.reduce(1, *)
            let scale = l.scale.map { param($0) } ?? initializer("\(n.name).scale", shape: normalized, floats: .init(repeating: 1, count: count))
            var ins = [x, scale]
            if let b = l.bias { ins.append(param(b)) }
            node("LayerNormalization", n.name, ins, [y], [A.attr("axis", int: l.axis), A.attr("epsilon", float: Float(l.epsilon))])
        case .groupNorm(let gn):
            let c = shapes[x]?[1] ?? 0
            let scale = gn.scale.map { param($0, shape: [c]) } ?? initializer("\(n.name).scale", shape: [c], floats: .init(repeating: 1, count: c))
            let bias = gn.bias.map { param($0, shape: [c]) } ?? initializer("\(n.name).bias", shape: [c], floats: .init(repeating: 0, count: c))
            node("GroupNormalization", n.name, [x, scale, bias], [y], [A.attr("num_groups", int: gn.groups), A.attr("epsilon", float: Float(gn.epsilon))])
        case .instanceNorm(let inn):
            let c = shapes[x]?[1] ?? 0
            let scale = inn.scale.map { param($0, shape: [c]) } ?? initializer("\(n.name).scale", shape: [c], floats: .init(repeating: 1, count: c))
            let bias = inn.bias.map { param($0, shape: [c]) } ?? initializer("\(n.name).bias", shape: [c], floats: .init(repeating: 0, count: c))
            node("InstanceNormalization", n.name, [x, scale, bias], [y], [A.attr("epsilon", float: Float(inn.epsilon))])
        case .lrn(let l):
            node("LRN", n.name, [x], [y], [A.attr("size", int: l.size), A.attr("alpha", float: l.alpha), A.attr("beta", float: l.beta), A.attr("bias", float: l.bias)])
        case .channelShuffle(let g):
            guard let s = shapes[x], s.count >= 3 else { throw .exportUnsupported(node: n.name, message: "channel shuffle needs an N, C, … input") }
            let split = ints("\(n.name).split_shape", [0, g, s[1] / g] + Array(s[2...]))
            let back = ints("\(n.name).shape", [0] + Array(s[1...]))
            let r1 = fresh("\(y).split"), t = fresh("\(y).transposed")
            node("Reshape", "\(n.name).split", [x, split], [r1])
            node("Transpose", "\(n.name).transpose", [r1], [t], [A.attr("perm", ints: [0, 2, 1] + Array(3..<(s.count + 1)))])
            node("Reshape", n.name, [t, back], [y])
        case .resize(let r):
            // ONNX scales are Float32: nudge each up until it gives the same output size.
            func float32(_ scale: Double, _ inSize: Int) -> Float {
                let out = Int((Double(inSize) * scale).rounded(.down))
                var f = Float(scale)
                while Int((Double(inSize) * Double(f)).rounded(.down)) < out { f = f.nextUp }
                return f
            }
            let s = shapes[x] ?? [1, 1, 1, 1]
            let scales = initializer("\(n.name).scales", shape: [4], floats: [1, 1, float32(r.scaleH, s[2]), float32(r.scaleW, s[3])])
            var attrs = [A.attr("mode", string: r.mode == .nearest ? "nearest" : "linear"),
                         A.attr("coordinate_transformation_mode", string: r.coordinateTransform.rawValue)]
            if r.mode == .nearest { attrs.append(A.attr("nearest_mode", string: r.nearestRounding.rawValue)) }
            node("Resize", n.name, [x, "", scales], [y], attrs)
        case .identity: node("Identity", n.name, [x], [y])
        }
    }
}
