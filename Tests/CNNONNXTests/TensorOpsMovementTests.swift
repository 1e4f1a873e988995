// The movement tensor ops (Reshape, Squeeze, Unsqueeze, Slice, Split, Expand, Gather, Concat,
// Pad, Tile): every attribute a file can hold that makes no sense is refused with a message
// (never a trap); imports that cannot be honoured are refused naming the node; the cases the
// onnxruntime fixtures cannot hold (they are exported too, and the exporter writes 1-D integer
// inputs only) are checked here against values worked out by hand from the ONNX definitions.
import CNNGraph
import CNNRuntime
import Foundation
import Testing

@testable import CNNONNX

@Suite("Tensor ops: movement refusals and import")
struct TensorOpsMovementTests {
    typealias B = ModelBuilder

    /// The definition's refusal message for `op` on these operand shapes (nil: accepted).
    func refusal(_ kind: String, _ attributes: [String: AttributeValue], _ operands: [[Int]]) throws -> String? {
        let d = try #require(TensorOps.definition(named: kind))
        let op = TensorOp(kind: kind, attributes: attributes, inputs: operands.count)
        do { _ = try d.outputShapes(op, operands: operands); return nil } catch { return error.message }
    }

    func expectRefused(
        _ kind: String, _ attributes: [String: AttributeValue], _ operands: [[Int]], _ fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let m = try refusal(kind, attributes, operands)
        #expect(m != nil, "\(kind) \(attributes) on \(operands) was accepted", sourceLocation: sourceLocation)
        #expect(m?.contains(fragment) ?? false, "\(m ?? "")", sourceLocation: sourceLocation)
    }

    @Test("attribute refusals, including values that would overflow")
    func refusals() throws {
        let big = Int.max, small = Int.min
        try expectRefused("Reshape", ["shape": .ints([-1, -1])], [[2, 3]], "more than one −1")
        try expectRefused("Reshape", ["shape": .ints([4, 2])], [[2, 3]], "cannot reshape")
        try expectRefused("Reshape", ["shape": .ints([-2, 3])], [[2, 3]], "negative dimension")
        try expectRefused("Reshape", ["shape": .ints([0, 0, 0])], [[6, 1]], "lacks")
        try expectRefused("Reshape", ["shape": .ints([big, 2, -1])], [[2, 3]], "overflows")
        try expectRefused("Reshape", ["shape": .ints([1, 1, 1, 1, 1, 1, 6])], [[6]], "rank 7")
        try expectRefused("Squeeze", ["axes": .ints([0])], [[2, 1]], "size is 2")
        try expectRefused("Squeeze", ["axes": .ints([2])], [[2, 1]], "out of range")
        try expectRefused("Unsqueeze", ["axes": .ints([0, 1, 2])], [[1, 2, 3, 4]], "rank 7")
        try expectRefused("Unsqueeze", ["axes": .ints([1, 1])], [[2]], "repeat")
        try expectRefused(
            "Slice", ["starts": .ints([0]), "ends": .ints([2]), "steps": .ints([0])], [[4]], "step 0 is 0")
        try expectRefused("Slice", ["starts": .ints([3]), "ends": .ints([1])], [[4]], "empty")
        try expectRefused("Slice", ["starts": .ints([0, 0]), "ends": .ints([1])], [[4, 4]], "must agree")
        try expectRefused(
            "Slice", ["starts": .ints([0, 0]), "ends": .ints([1, 1]), "axes": .ints([1, -1])], [[4, 4]], "repeat")
        // Extreme values clamp instead of overflowing.
        #expect(
            try refusal("Slice", ["starts": .ints([big]), "ends": .ints([small]), "steps": .ints([small])], [[4]])
                == nil)
        #expect(
            try refusal("Slice", ["starts": .ints([small]), "ends": .ints([big]), "steps": .ints([big])], [[4]]) == nil)
        try expectRefused("Split", ["split": .ints([2, 2])], [[5]], "sums to 4")
        try expectRefused("Split", ["split": .ints([5, 0])], [[5]], "≥ 1")
        try expectRefused("Split", ["split": .ints([big, big])], [[5]], "overflows")
        try expectRefused("Expand", ["shape": .ints([3])], [[2]], "do not broadcast")
        try expectRefused("Expand", ["shape": .ints([0, 2])], [[2]], "≥ 1")
        try expectRefused("Gather", ["indices": .ints([3])], [[3, 2]], "out of range")
        try expectRefused("Gather", ["indices": .ints([-4])], [[3, 2]], "out of range")
        try expectRefused("Gather", ["indices": .ints([0, 1]), "indices_shape": .ints([3])], [[3]], "does not hold")
        try expectRefused("Gather", ["indices": .ints([0]), "indices_shape": .ints([big, 2])], [[3]], "does not hold")
        try expectRefused("Gather", ["indices": .ints([0])], [[]], "scalar")
        try expectRefused("Concat", ["axis": .int(1)], [[2, 3], [3, 3]], "cannot concatenate")
        try expectRefused("Concat", ["axis": .int(0)], [[2, 3], [2]], "cannot concatenate")
        try expectRefused("Concat", ["axis": .int(0)], [[], []], "scalars")
        try expectRefused("Pad", ["pads": .ints([1, 1])], [[2, 2]], "2 values per axis")
        try expectRefused("Pad", ["pads": .ints([-2, 0])], [[2]], "empty")
        try expectRefused("Pad", ["pads": .ints([big, big])], [[2]], "overflows")
        try expectRefused("Pad", ["pads": .ints([1, 1]), "mode": .string("symmetric")], [[2]], "is not one of")
        try expectRefused("Tile", ["repeats": .ints([0])], [[2]], "≥ 1")
        try expectRefused("Tile", ["repeats": .ints([2])], [[2, 2]], "one count")
        try expectRefused("Tile", ["repeats": .ints([big, 2])], [[2, 2]], "overflows")
    }

    /// x [1, 1, 2, 2] → `nodes` → y.
    func model(
        _ nodes: [Onnx_NodeProto], _ initializers: [Onnx_TensorProto] = [],
        shape: [CNNGraph.Dimension?] = [.fixed(1), .fixed(1), .fixed(2), .fixed(2)],
        opset: Int = 17
    ) throws -> Data {
        try B.model(nodes, inputShape: shape, initializers: initializers, opset: opset)
    }

    func expectImportRefused(
        _ data: Data, node: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let e = importError(data)
        #expect(e != nil, "the model imported", sourceLocation: sourceLocation)
        let text = e?.description ?? ""
        #expect(text.contains("'\(node)'") && text.contains(fragment), "\(text)", sourceLocation: sourceLocation)
    }

    @Test("imports that cannot be honoured are refused naming the node")
    func importRefusals() throws {
        expectImportRefused(
            try model(
                [B.node("Gather", "g", ["x", "i"], ["y"], [Hostile.int(attr: "axis", 2)])], [B.ints("i", [0, 2])]),
            node: "g", "out of range")
        expectImportRefused(
            try model([
                B.node("Shape", "s", ["x"], ["n"]), B.node("Slice", "sl", ["x", "n", "n"], ["y"]),
                B.node("Relu", "r", ["x"], ["unused"]),
            ]),
            node: "sl", "empty")
        expectImportRefused(
            try model([B.node("Squeeze", "sq", ["x", "a"], ["y"])], [B.ints("a", [2])]), node: "sq", "size is 2")
        expectImportRefused(
            try model(
                [B.node("Pad", "p", ["x", "pads"], ["y"], [B.string(attr: "mode", "wrap")])],
                [B.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])], opset: 18), node: "p", "wrap")
        // Slice ends that are not constants.
        expectImportRefused(
            try model(
                [B.node("Relu", "r", ["x"], ["e"]), B.node("Slice", "sl", ["x", "s", "e"], ["y"])], [B.ints("s", [0])]),
            node: "sl", "run time")
    }

    /// Imports `data`, runs it on `x` in Float64 and returns output y.
    func run(_ data: Data, _ x: NDArray<Double>) throws -> NDArray<Double> {
        let (g, _) = try ONNXImporter.importModel(data: data)
        let out = try Executor<Double>(graph: g, batch: x.shape.first ?? 1).run([g.inputs[0].name: x])
        return try #require(out.outputs["y"])
    }

    @Test("Gather with scalar and 2-D indices, Pad with a constant value: against the ONNX definitions")
    func notExportable() throws {
        let x = NDArray<Double>(shape: [1, 1, 2, 2], values: [1, 2, 3, 4])
        // Scalar index along the last axis drops it: x[..., 1] = [[2, 4]].
        let scalarIndex = B.ints("i", [1])
        var scalar = scalarIndex; scalar.dims = []
        let g0 = try run(
            try model([B.node("Gather", "g", ["x", "i"], ["y"], [Hostile.int(attr: "axis", -1)])], [scalar]), x)
        #expect(g0.shape == [1, 1, 2] && g0.values == [2, 4])
        // 2-D indices [[1, 0], [1, 1]] along axis 2: y[0, 0, i, j, :] = x[0, 0, idx[i][j], :].
        var twoD = B.ints("i", [1, 0, 1, 1]); twoD.dims = [2, 2]
        let g1 = try run(
            try model([B.node("Gather", "g", ["x", "i"], ["y"], [Hostile.int(attr: "axis", 2)])], [twoD]), x)
        #expect(g1.shape == [1, 1, 2, 2, 2] && g1.values == [3, 4, 1, 2, 3, 4, 3, 4])
        // Constant padding with 1.5 on the last axis, one before and one after: rank 4, not merged.
        let p = try run(
            try model(
                [B.node("Pad", "p", ["x", "pads", "v"], ["y"])],
                [B.ints("pads", [0, 0, 0, 1, 0, 0, 0, 1]), B.tensor("v", [], [1.5])]), x)
        #expect(p.shape == [1, 1, 2, 4] && p.values == [1.5, 1, 2, 1.5, 1.5, 3, 4, 1.5])
        // The export carries the value as Pad's constant_value input: re-imported, it pads the same.
        let (g, _) = try ONNXImporter.importModel(
            data: try model(
                [B.node("Pad", "p", ["x", "pads", "v"], ["y"])],
                [B.ints("pads", [0, 0, 0, 1, 0, 0, 0, 1]), B.tensor("v", [], [1.5])]))
        let again = try run(try ONNXExporter.export(g), x)
        #expect(again.shape == [1, 1, 2, 4] && again.values == [1.5, 1, 2, 1.5, 1.5, 3, 4, 1.5])
    }

    @Test("Squeeze and Unsqueeze keep a symbolic batch; a squeeze to [N, C] becomes a flatten")
    func symbolicBatch() throws {
        let shape: [CNNGraph.Dimension?] = [.symbol("N"), .fixed(3), .fixed(1), .fixed(1)]
        let flat = try model([B.node("Squeeze", "sq", ["x", "a"], ["y"])], [B.ints("a", [2, 3])], shape: shape)
        let (g, _) = try ONNXImporter.importModel(data: flat)
        #expect(g.nodes.map(\.op) == [.flatten(axis: 1)])
        #expect(g.outputs[0].shape.first == .symbol("N"))
        // Unsqueeze at 1 then Squeeze at 2 and 3 of [N, 3, 1, 1]: [N, 1, 3, 1, 1] → [N, 1, 3].
        let both = try model(
            [B.node("Unsqueeze", "un", ["x", "a1"], ["u"]), B.node("Squeeze", "sq", ["u", "a2"], ["y"])],
            [B.ints("a1", [1]), B.ints("a2", [3, 4])], shape: shape)
        let x = NDArray<Double>(shape: [2, 3, 1, 1], values: [1, 2, 3, 4, 5, 6])
        let y = try run(both, x)
        #expect(y.shape == [2, 1, 3] && y.values == [1, 2, 3, 4, 5, 6])
    }
}
