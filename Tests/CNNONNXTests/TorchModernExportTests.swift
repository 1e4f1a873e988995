// Modern PyTorch exports (issue #11): fixtures/torch-modern holds a YOLOv8-style detector and an
// SVTR-style text recognizer that torch.onnx.export (legacy exporter, symbolic batch) wrote
// (scripts/make_torch_fixtures.py --modern), with torch's eval-mode outputs at batch 2. Each
// imports, runs in the executor (Float32) and matches torch within 1e-4·(1 + |torch|), folds
// (no BatchNormalization or Dropout left) and still matches, exports to ONNX, re-imports and
// still matches. Follows TorchExportTests (fixtures/torch).
//
// They need the general tensor ops of issue #11 (Split, Slice, Softmax on any axis, Transpose,
// run-time MatMul, LayerNormalization, Erf, ReduceMean, ...). Until those land, each file listed
// in `pendingOn11` runs inside `withKnownIssue`: its failures are expected, and the test fails
// once it passes completely, so the list must then shrink (delete the entry to enable it).
import CNNGraph
import CNNONNX
import CNNPasses
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

struct TorchModernCase: Sendable, CustomStringConvertible {
    var model: String      // fixtures/torch-modern/<model>.onnx
    var stem: String       // fixtures/torch-modern/<stem>.input.npy / .output.npy
    var batchNorms: Int    // BatchNormalization nodes torch left in the file
    var description: String { model }

    static let directory = Repository.fixture("torch-modern")
    static let all: [TorchModernCase] = [
        TorchModernCase(model: "yolo_mini", stem: "yolo_mini", batchNorms: 0),
        TorchModernCase(model: "yolo_mini.nofold", stem: "yolo_mini", batchNorms: 35),
        TorchModernCase(model: "svtr_mini", stem: "svtr_mini", batchNorms: 0),
        TorchModernCase(model: "svtr_mini.nofold", stem: "svtr_mini", batchNorms: 2),
        TorchModernCase(model: "svtr_mini.opset13", stem: "svtr_mini", batchNorms: 0),
    ]
    func file(_ suffix: String) -> String { Self.directory + "/" + suffix }
}

@Suite("torch.onnx.export of modern models (fixtures/torch-modern)")
struct TorchModernExportTests {
    static let tolerance: Float = 1e-4

    /// Files that cannot pass before issue #11's ops are in: model → what is missing. Delete an
    /// entry to enable its tests fully; an entry whose model passes fails the suite.
    static let pendingOn11: [String: String] = [
        "yolo_mini": "needs #11 ops: Split, Slice, Softmax, Transpose, Reshape to [N,4,16,A], run-time Sub/Add/Div/Mul",
        "yolo_mini.nofold": "needs #11 ops: Split, Slice, Softmax, Transpose, Reshape to [N,4,16,A], run-time Sub/Add/Div/Mul",
        "svtr_mini": "needs #11 ops: LayerNormalization on tokens, rank-3/5 Reshape/Transpose, Gather, run-time MatMul, Erf, ReduceMean",
        "svtr_mini.nofold": "needs #11 ops: LayerNormalization on tokens, rank-3/5 Reshape/Transpose, Gather, run-time MatMul, Erf, ReduceMean",
        "svtr_mini.opset13": "needs #11 ops: ReduceMean/Sub/Pow/Sqrt/Div LayerNorm, rank-3/5 Reshape/Transpose, Gather, run-time MatMul, Erf",
    ]

    /// The largest |ours − ref| / (1 + |ref|).
    func worst(_ ours: NDArray<Float>, _ ref: NPYArray) -> Float {
        zip(ours.values, ref.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    }

    func run(_ graph: Graph, input: NPYArray) throws -> NDArray<Float> {
        let executor = try Executor<Float>(graph: graph, batch: input.shape[0])
        let result = try executor.run(["input": NDArray(shape: input.shape, values: input.floats)])
        return try #require(result.outputs["output"] ?? result.outputs.values.first)
    }

    /// Runs `body`, inside `withKnownIssue` while `c` is pending on issue #11.
    func pending(_ c: TorchModernCase, _ body: () throws -> Void) {
        if let reason = Self.pendingOn11[c.model] {
            withKnownIssue(Comment(rawValue: reason)) { try body() }
        } else {
            do { try body() } catch { Issue.record(error, "\(c)") }
        }
    }

    @Test("imports, runs and matches torch; folds (no BatchNorm left) and still matches", arguments: TorchModernCase.all)
    func importRunFold(_ c: TorchModernCase) throws {
        let input = try NPY.read(c.file(c.stem + ".input.npy"))
        let expected = try NPY.read(c.file(c.stem + ".output.npy"))
        pending(c) {
            let (graph, _) = try ONNXImporter.importModel(path: c.file(c.model + ".onnx"), inputShape: input.shape)
            #expect(graph.nodes.filter { $0.op.kindName == "BatchNorm" }.count == c.batchNorms, "\(c): BatchNorms imported")
            let ours = try run(graph, input: input)
            #expect(ours.shape == expected.shape, "\(c): output shape")
            let e0 = worst(ours, expected)
            #expect(e0 <= Self.tolerance, "\(c): imported model vs torch: \(e0)")

            let folded = try FoldPasses.fold(graph).graph
            let left = folded.nodes.filter { ["BatchNorm", "Dropout"].contains($0.op.kindName) }.map(\.name)
            #expect(left.isEmpty, "\(c): left after folding: \(left)")
            let oursFolded = try run(folded, input: input)
            #expect(oursFolded.shape == expected.shape, "\(c): folded output shape")
            let e1 = worst(oursFolded, expected)
            #expect(e1 <= Self.tolerance, "\(c): folded model vs torch: \(e1)")
        }
    }

    @Test("the folded model exports without BatchNormalization, re-imports and still matches torch", arguments: TorchModernCase.all)
    func foldedRoundTrip(_ c: TorchModernCase) throws {
        let input = try NPY.read(c.file(c.stem + ".input.npy"))
        let expected = try NPY.read(c.file(c.stem + ".output.npy"))
        pending(c) {
            let (graph, _) = try ONNXImporter.importModel(path: c.file(c.model + ".onnx"), inputShape: input.shape)
            let folded = try FoldPasses.fold(graph).graph
            let proto = try ONNXExporter.exportModel(folded)
            let ops = Set(proto.graph.node.map(\.opType))
            #expect(!ops.contains("BatchNormalization") && !ops.contains("Dropout"), "\(c): exported ops \(ops.sorted())")
            let (again, _) = try ONNXImporter.importModel(data: try ONNXExporter.export(folded), source: "\(c) (folded, exported)")
            let e = worst(try run(again, input: input), expected)
            #expect(e <= Self.tolerance, "\(c): re-imported folded model vs torch: \(e)")
        }
    }

    @Test("the fixtures are what the script says: symbolic batch, opsets, BatchNorms kept or fused")
    func filesAreAsDescribed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TorchModernCase.directory).filter { $0.hasSuffix(".onnx") }
        #expect(Set(files) == Set(TorchModernCase.all.map { $0.model + ".onnx" }), "every model in fixtures/torch-modern is tested")
        for c in TorchModernCase.all {
            let data = try Data(contentsOf: URL(fileURLWithPath: c.file(c.model + ".onnx")))
            #expect(data.count < 1 << 20, "\(c): \(data.count) bytes")
            let input = try NPY.read(c.file(c.stem + ".input.npy"))
            #expect(input.shape[0] == 2, "\(c): the saved input is batch 2")
        }
    }
}
