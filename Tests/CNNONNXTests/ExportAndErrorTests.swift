// Exporter specifics and the importer's refusals: each a typed error with a message naming the
// node, op and what is supported.
import CNNGraph
import Foundation
import Testing

@testable import CNNONNX

/// Builds small ONNX models in memory.
enum ModelBuilder {
    static func tensor(_ name: String, _ shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name; t.dataType = 1; t.dims = shape.map { Int64($0) }; t.floatData = values
        return t
    }
    static func ints(_ name: String, _ values: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name; t.dataType = 7; t.dims = [Int64(values.count)]; t.int64Data = values.map { Int64($0) }
        return t
    }
    static func node(
        _ op: String, _ name: String, _ inputs: [String], _ outputs: [String], _ attrs: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op; n.name = name; n.input = inputs; n.output = outputs; n.attribute = attrs
        return n
    }
    static func ints(attr name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map { Int64($0) }; return a
    }
    static func string(attr name: String, _ v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
    static func model(
        _ nodes: [Onnx_NodeProto], inputShape: [CNNGraph.Dimension?], initializers: [Onnx_TensorProto] = [],
        output: String = "y", opset: Int = 17
    ) throws -> Data {
        var g = Onnx_GraphProto()
        g.name = "test"
        g.node = nodes
        g.initializer = initializers
        var input = ExportWriterTestAccess.valueInfo("x", inputShape.map { $0 ?? .fixed(1) })
        if inputShape.contains(where: { $0 == nil }) {
            var t = input.type.tensorType
            t.shape.dim = inputShape.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                if case .fixed(let n)? = d { dim.dimValue = Int64(n) }
                if case .symbol(let s)? = d { dim.dimParam = s }
                return dim
            }
            input.type.tensorType = t
        }
        g.input = [input]
        g.output = [ExportWriterTestAccess.valueInfo(output, [])]
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var set = Onnx_OperatorSetIdProto(); set.domain = ""; set.version = Int64(opset)
        m.opsetImport = [set]
        m.graph = g
        return try m.serializedBytes()
    }
}

enum ExportWriterTestAccess {
    static func valueInfo(_ name: String, _ shape: [CNNGraph.Dimension]) -> Onnx_ValueInfoProto {
        ONNXExporter.valueInfo(name, shape)
    }
}

func importError(_ data: Data, inputShape: [Int]? = nil) -> ONNXError? {
    do { _ = try ONNXImporter.importModel(data: data, inputShape: inputShape); return nil } catch { return error }
}

@Suite("ONNX errors and patterns")
struct ONNXErrorTests {
    typealias B = ModelBuilder

    @Test("malformed protobuf is a typed error naming the source")
    func malformed() throws {
        let e = importError(Data([0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]))
        guard case .malformedProtobuf? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(e?.description.contains("<memory>") == true)
        // Well-formed protobuf that is no model.
        guard case .invalidModel? = importError(Data()) else { Issue.record("empty data"); return }
    }

    @Test("a truncated fixture fails cleanly")
    func truncated() throws {
        let path = FixturePaths.onnx + "/net_resnet_basic_block/model.onnx"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in [1, 7, data.count / 3, data.count / 2, data.count - 5] {
            #expect(importError(data.prefix(cut)) != nil)
        }
    }

    @Test("an unsupported op names the node, the op and the supported ops")
    func unsupportedOp() throws {
        let data = try B.model(
            [B.node("Hardmax", "act1", ["x"], ["y"])], inputShape: [.fixed(1), .fixed(3), .fixed(4), .fixed(4)])
        let e = try #require(importError(data))
        guard case .unsupportedOp(let node, let op, _, let supported) = e else { Issue.record("got \(e)"); return }
        #expect(node == "act1"); #expect(op == "Hardmax"); #expect(supported.contains("Conv"))
        #expect(e.description.contains("node 'act1': op Hardmax is not supported; supported ops: "))
    }

    @Test("a bad attribute is named")
    func badAttribute() throws {
        let w = B.tensor("W", [2, 3, 3, 3], .init(repeating: 0.1, count: 54))
        let data = try B.model(
            [B.node("Conv", "c", ["x", "W"], ["y"], [B.string(attr: "auto_pad", "SAME_MIDDLE")])],
            inputShape: [.fixed(1), .fixed(3), .fixed(5), .fixed(5)], initializers: [w])
        let e = try #require(importError(data))
        guard case .badAttribute(let node, _, let attr, _) = e else { Issue.record("got \(e)"); return }
        #expect(node == "c"); #expect(attr == "auto_pad")
        let pads = try B.model(
            [B.node("Conv", "c", ["x", "W"], ["y"], [B.ints(attr: "pads", [1, 1, 1])])],
            inputShape: [.fixed(1), .fixed(3), .fixed(5), .fixed(5)], initializers: [w])
        guard case .badAttribute(_, _, "pads", _)? = importError(pads) else { Issue.record("pads"); return }
    }

    @Test("an unknown input shape asks for --input-shape; given, it imports with a symbolic batch")
    func inputShape() throws {
        let data = try B.model(
            [B.node("Relu", "r", ["x"], ["y"])], inputShape: [.symbol("batch"), .fixed(3), nil, nil])
        let e = try #require(importError(data))
        guard case .unknownInputShape = e else { Issue.record("got \(e)"); return }
        #expect(e.description.contains("--input-shape 1,3,224,224"))
        let (g, _) = try ONNXImporter.importModel(data: data, inputShape: [2, 3, 8, 8])
        #expect(g.inputs[0].shape == [.symbol("batch"), .fixed(3), .fixed(8), .fixed(8)])
        let mismatch = try #require(importError(data, inputShape: [1, 4, 8, 8]))
        guard case .inputShapeMismatch = mismatch else { Issue.record("mismatch: \(mismatch)"); return }
        // It names the input and the dimension it contradicts.
        #expect(
            mismatch.description.contains("input 'x'") && mismatch.description.contains("dimension 1 is fixed at 3"))
    }

    /// docs/pypi-models.md finding 3: run-time operands whose shapes do not broadcast at all are
    /// "incompatible" (onnxruntime's word), not "in need of broadcasting"; node and shapes named.
    @Test("adding shapes that do not broadcast is refused as incompatible, naming node and shapes")
    func incompatibleAdd() throws {
        let data = try B.model(
            [
                B.node(
                    "MaxPool", "pool", ["x"], ["p"],
                    [B.ints(attr: "kernel_shape", [2, 2]), B.ints(attr: "strides", [2, 2])]),
                B.node("Add", "sum", ["x", "p"], ["y"]),
            ], inputShape: [.fixed(1), .fixed(2), .fixed(4), .fixed(4)])
        let e = try #require(importError(data))
        let text = e.description
        #expect(text.contains("'sum'") && text.contains("1×2×4×4") && text.contains("1×2×2×2"), "\(text)")
        #expect(text.contains("incompatible") && !text.contains("needs broadcasting"), "\(text)")
        // A constant operand that does not broadcast either.
        let constant = try B.model(
            [B.node("Add", "plus", ["x", "c"], ["y"])], inputShape: [.fixed(1), .fixed(2), .fixed(4), .fixed(4)],
            initializers: [B.tensor("c", [3], [1, 2, 3])])
        let c = try #require(importError(constant)).description
        #expect(c.contains("'plus'") && c.contains("1×2×4×4") && c.contains("incompatible"), "\(c)")
    }

    @Test("opset 6 is refused")
    func oldOpset() throws {
        let data = try B.model([B.node("Relu", "r", ["x"], ["y"])], inputShape: [.fixed(1), .fixed(3)], opset: 6)
        guard case .unsupportedOpset? = importError(data) else { Issue.record("opset 6"); return }
    }

    @Test("decomposed HardSwish, MatMul+Add, Pad+Conv, per-channel Mul/Add, shape-computed Reshape")
    func patterns() throws {
        let c = 4
        let inits = [
            B.tensor("three", [], [3]), B.tensor("zero", [], [0]), B.tensor("six", [], [6]),
            B.tensor("W", [c, c, 3, 3], (0..<(c * c * 9)).map { Float($0 % 7) * 0.01 }),
            B.tensor("s", [1, c, 1, 1], [1, 2, 3, 4]), B.tensor("b", [c, 1, 1], [0.5, 0.25, 0, -1]),
            B.tensor("M", [c * 4, 5], (0..<(c * 4 * 5)).map { Float($0) * 0.01 }),
            B.tensor("bias", [5], [1, 2, 3, 4, 5]),
            B.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), B.ints("zero_i", [0]), B.ints("minus1", [-1]),
        ]
        let nodes = [
            B.node("Add", "a3", ["x", "three"], ["x3"]), B.node("Clip", "clip", ["x3", "zero", "six"], ["r6"]),
            B.node("Mul", "mx", ["x", "r6"], ["m"]), B.node("Div", "hswish", ["m", "six"], ["h"]),
            B.node("Pad", "pad", ["h", "pads"], ["p"]), B.node("Conv", "conv", ["p", "W"], ["cv"]),
            B.node("Mul", "scale", ["cv", "s"], ["cs"]), B.node("Add", "shift", ["cs", "b"], ["aff"]),
            B.node("Shape", "shape", ["aff"], ["shp"]), B.node("Gather", "batch", ["shp", "zero_i"], ["n"]),
            B.node(
                "Concat", "target", ["n", "minus1"], ["tshape"],
                [
                    {
                        var a = Onnx_AttributeProto(); a.name = "axis"; a.type = .int; a.i = 0; return a
                    }()
                ]),
            B.node("Reshape", "flat", ["aff", "tshape"], ["f"]),
            B.node("MatMul", "mm", ["f", "M"], ["mmo"]), B.node("Add", "fc", ["mmo", "bias"], ["y"]),
        ]
        let data = try B.model(nodes, inputShape: [.symbol("N"), .fixed(c), .fixed(2), .fixed(2)], initializers: inits)
        let (g, report) = try ONNXImporter.importModel(data: data)
        #expect(g.nodes.map(\.op.kindName) == ["HardSwish", "Conv2d", "Affine", "Flatten", "Linear"])
        #expect(g.nodes.map(\.name) == ["hswish", "conv", "shift", "flat", "fc"])
        guard case .conv2d(let conv) = g.nodes[1].op, case .affine(let aff) = g.nodes[2].op,
            case .linear(let lin) = g.nodes[4].op
        else {
            Issue.record("ops"); return
        }
        #expect(conv.window.padTop == 1 && conv.window.padRight == 1)
        #expect(aff.scale.array == [1, 2, 3, 4] && aff.shift.array == [0.5, 0.25, 0, -1])
        #expect(lin.weight.shape == [5, c * 4] && lin.bias?.array == [1, 2, 3, 4, 5])
        #expect(lin.weight.array[1] == Float(5) * 0.01)  // W^T[0][1] = M[1][0]
        #expect(report.fusedPatterns["HardSwish"] == 1 && report.fusedPatterns["Linear"] == 1)
        #expect(g.outputs[0].shape == [.symbol("N"), .fixed(5)])
        // And it survives export → import.
        let (again, _) = try ONNXImporter.importModel(data: try ONNXExporter.export(g))
        #expect(again.nodes.map(\.op.kindName) == ["HardSwish", "Conv2d", "Affine", "Flatten", "Linear"])
    }

    @Test("a folded graph exports without BatchNormalization; classic dropout exports as its inference scale")
    func exportKinds() throws {
        let w = Tensor(name: "w", shape: [2, 3, 1, 1], values: [1, 2, 3, 4, 5, 6])
        var g = Graph(
            name: "t", inputs: [ValueInfo(name: "x", shape: [.symbol("N"), .fixed(3), .fixed(4), .fixed(4)])],
            outputs: [ValueInfo(name: "y", shape: [])])
        g.nodes = [
            Node(name: "conv", op: .conv2d(Conv2d(weight: w, window: Window2d(k: 1))), inputs: ["x"], outputs: ["c"]),
            Node(
                name: "aff",
                op: .affine(
                    Affine(
                        scale: Tensor(name: "sc", shape: [2], values: [1, 2]),
                        shift: Tensor(name: "sh", shape: [2], values: [0, 1]))), inputs: ["c"], outputs: ["a"]),
            Node(name: "drop", op: .dropout(Dropout(rate: 0.5, convention: .classic)), inputs: ["a"], outputs: ["y"]),
        ]
        let model = try ONNXExporter.exportModel(g)
        #expect(!model.graph.node.contains { $0.opType == "BatchNormalization" })
        #expect(model.graph.node.map(\.opType) == ["Conv", "Mul", "Add", "Mul"])
        #expect(model.graph.output[0].type.tensorType.shape.dim.map(\.dimParam) == ["N", "", "", ""])
    }
}
