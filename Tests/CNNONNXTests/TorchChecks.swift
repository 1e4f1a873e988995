// The checks every torch.onnx.export fixture goes through (fixtures/torch, fixtures/torch-modern):
// import, run and match torch; fold (no BatchNorm or Dropout left) and still match; export the
// folded model, re-import it and still match.
import CNNGraph
import CNNONNX
import CNNPasses
import CNNRuntime
import Foundation
import Testing

enum TorchChecks {
    static let tolerance: Float = 1e-4

    /// The largest |ours − ref| / (1 + |ref|).
    static func worst(_ ours: NDArray<Float>, _ ref: NPYArray) -> Float {
        zip(ours.values, ref.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    }

    static func run(_ graph: Graph, input: NPYArray) throws -> NDArray<Float> {
        let executor = try Executor<Float>(graph: graph, batch: input.shape[0])
        let result = try executor.run(["input": NDArray(shape: input.shape, values: input.floats)])
        return try #require(result.outputs["output"] ?? result.outputs.values.first)
    }

    /// Imports `model`, checks its BatchNorm count, runs it, folds it, runs the folded model.
    static func importRunFold(_ label: String, model: String, input: NPYArray, expected: NPYArray, batchNorms: Int)
        throws
    {
        let (graph, _) = try ONNXImporter.importModel(path: model, inputShape: input.shape)
        #expect(
            graph.nodes.filter { $0.op.kindName == "BatchNorm" }.count == batchNorms, "\(label): BatchNorms imported")
        let ours = try run(graph, input: input)
        #expect(ours.shape == expected.shape, "\(label): output shape")
        let e0 = worst(ours, expected)
        #expect(e0 <= tolerance, "\(label): imported model vs torch: \(e0)")

        let folded = try FoldPasses.fold(graph).graph
        let left = folded.nodes.filter { ["BatchNorm", "Dropout"].contains($0.op.kindName) }.map(\.name)
        #expect(left.isEmpty, "\(label): left after folding: \(left)")
        let oursFolded = try run(folded, input: input)
        #expect(oursFolded.shape == expected.shape, "\(label): folded output shape")
        let e1 = worst(oursFolded, expected)
        #expect(e1 <= tolerance, "\(label): folded model vs torch: \(e1)")
    }

    /// Folds, exports (no BatchNormalization or Dropout), re-imports and matches torch; returns
    /// the folded graph and the re-imported one for callers that compare them.
    @discardableResult
    static func foldExportReimport(_ label: String, model: String, input: NPYArray, expected: NPYArray) throws -> (
        folded: Graph, again: Graph
    ) {
        let (graph, _) = try ONNXImporter.importModel(path: model, inputShape: input.shape)
        let folded = try FoldPasses.fold(graph).graph
        let proto = try ONNXExporter.exportModel(folded)
        let ops = Set(proto.graph.node.map(\.opType))
        #expect(
            !ops.contains("BatchNormalization") && !ops.contains("Dropout"), "\(label): exported ops \(ops.sorted())")
        let (again, _) = try ONNXImporter.importModel(
            data: try ONNXExporter.export(folded), source: "\(label) (folded, exported)")
        let e = worst(try run(again, input: input), expected)
        #expect(e <= tolerance, "\(label): re-imported folded model vs torch: \(e)")
        return (folded, again)
    }
}
