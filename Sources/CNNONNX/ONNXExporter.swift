// Graph → ONNX. One or a few standard ONNX nodes per graph node, at the lowest opset that
// expresses the graph exactly in onnxruntime (17; 19 for AveragePool features ORT fixed there;
// 21 for per-channel GroupNormalization). A fused pattern keeps its name on its last ONNX node,
// so that export → import gives the same graph.
import CNNFormat
import CNNGraph
import Foundation
import SwiftProtobuf

/// Writes a graph as standard ONNX that onnxruntime runs and `import` reads back to the same graph.
public enum ONNXExporter {
    /// The opset `graph` exports at.
    public static func opset(for graph: Graph) -> Int {
        graph.nodes.reduce(17) { max($0, $1.op.definition.onnxMinimumOpset) }
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
        // N×C×1×L regions (1-D convs imported by Import1D) go back to 1-D ONNX ops.
        Export1D.lower(
            nodes: &writer.nodes, initializers: &writer.initializers, graphOutputs: Set(graph.outputs.map(\.name)),
            rank: { shapes[$0]?.count })
        g.node = writer.nodes
        g.initializer = writer.initializers
        g.input = graph.inputs.map { valueInfo($0.name, $0.shape) }
        g.output = try graph.outputs.map { (o) throws(ONNXError) -> Onnx_ValueInfoProto in
            valueInfo(o.name, try outputShape(o, graph: graph, shapes: shapes))
        }

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
    mutating func initializer(_ name: String, shape: [Int], floats: [Float], shared: Bool) -> String {
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
    mutating func ints(_ name: String, _ values: [Int], shape: [Int]?) -> String {
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

    /// A 1-D int32 initializer.
    mutating func int32s(_ name: String, _ values: [Int]) -> String {
        let n = fresh(name)
        initializerNames.insert(n)
        var t = Onnx_TensorProto()
        t.name = n
        t.dataType = ONNXDataType.int32.rawValue
        t.dims = [Int64(values.count)]
        t.int32Data = values.map { Int32(clamping: $0) }
        initializers.append(t)
        return n
    }

    mutating func param(_ t: Tensor, shape: [Int]?) -> String {
        initializer(t.name, shape: shape ?? t.shape, floats: t.array, shared: shape == nil || shape == t.shape)
    }

    mutating func node(
        _ opType: String, _ name: String, _ inputs: [String], _ outputs: [String], _ attrs: [Onnx_AttributeProto]
    ) {
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

    static func attribute(_ name: String, _ value: AttributeValue) -> Onnx_AttributeProto {
        switch value {
        case .int(let v): return attr(name, int: v)
        case .ints(let v): return attr(name, ints: v)
        case .float(let v): return attr(name, float: Float(v))
        case .floats(let v):
            var a = Onnx_AttributeProto(); a.name = name; a.type = .floats; a.floats = v.map { Float($0) }; return a
        case .string(let v): return attr(name, string: v)
        }
    }

    /// Each op's definition writes its nodes (CNNGraph/Ops/, through `ONNXExportBuilder`).
    mutating func add(_ n: Node) throws(ONNXError) {
        do { try n.op.definition.exportONNX(n, into: &self) } catch {
            throw .exportUnsupported(node: n.name, message: error.message)
        }
    }
}

extension ExportWriter: ONNXExportBuilder {
    func shape(of value: String) -> [Int]? { shapes[value] }

    mutating func node(
        _ opType: String, _ name: String, _ inputs: [String], _ outputs: [String],
        attributes: [(String, AttributeValue)]
    ) {
        node(opType, name, inputs, outputs, attributes.map { Self.attribute($0.0, $0.1) })
    }
}
