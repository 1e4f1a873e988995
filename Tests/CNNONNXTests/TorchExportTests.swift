// A real exporter's output (issue 5): fixtures/torch holds small CNNs that torch 2.13's own
// torch.onnx.export wrote (scripts/make_torch_fixtures.py), with torch's eval-mode outputs.
// Each imports, runs in the executor (Float32) and matches torch within 1e-4·(1 + |torch|),
// then folds (no BatchNorm or Dropout left) and still matches.
import CNNGraph
import CNNONNX
import CNNPasses
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

struct TorchCase: Sendable, CustomStringConvertible {
    var model: String      // fixtures/torch/<model>.onnx
    var stem: String       // fixtures/torch/<stem>.input.npy / .output.npy
    var batchNorms: Int    // BatchNormalization nodes torch left in the file
    var description: String { model }

    static let directory = Repository.fixture("torch")
    static let all: [TorchCase] = [
        TorchCase(model: "resnet_mini", stem: "resnet_mini", batchNorms: 1),
        TorchCase(model: "resnet_mini.nofold", stem: "resnet_mini", batchNorms: 7),
        TorchCase(model: "mobilenet_mini", stem: "mobilenet_mini", batchNorms: 0),
        TorchCase(model: "mobilenet_mini.nofold", stem: "mobilenet_mini", batchNorms: 9),
        TorchCase(model: "unet_mini", stem: "unet_mini", batchNorms: 1),
        TorchCase(model: "unet_mini.nofold", stem: "unet_mini", batchNorms: 4),
    ]
    func file(_ suffix: String) -> String { Self.directory + "/" + suffix }
}

@Suite("torch.onnx.export output (fixtures/torch)")
struct TorchExportTests {
    static let tolerance: Float = 1e-4

    /// The largest |ours − ref| / (1 + |ref|).
    func worst(_ ours: NDArray<Float>, _ ref: NPYArray) -> Float {
        zip(ours.values, ref.floats).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    }

    func run(_ graph: Graph, input: NPYArray) throws -> NDArray<Float> {
        let executor = try Executor<Float>(graph: graph, batch: input.shape[0])
        let result = try executor.run(["input": NDArray(shape: input.shape, values: input.floats)])
        return try #require(result.outputs["output"] ?? result.outputs.values.first)
    }

    @Test("imports, runs and matches torch; folds and still matches", arguments: TorchCase.all)
    func importRunFold(_ c: TorchCase) throws {
        let input = try NPY.read(c.file(c.stem + ".input.npy"))
        let expected = try NPY.read(c.file(c.stem + ".output.npy"))
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

    @Test("the folded model exports without BatchNormalization and re-imports to the same graph", arguments: TorchCase.all)
    func foldedRoundTrip(_ c: TorchCase) throws {
        let input = try NPY.read(c.file(c.stem + ".input.npy"))
        let expected = try NPY.read(c.file(c.stem + ".output.npy"))
        let (graph, _) = try ONNXImporter.importModel(path: c.file(c.model + ".onnx"), inputShape: input.shape)
        let folded = try FoldPasses.fold(graph).graph
        let proto = try ONNXExporter.exportModel(folded)
        let ops = Set(proto.graph.node.map(\.opType))
        #expect(!ops.contains("BatchNormalization") && !ops.contains("Dropout"), "\(c): exported ops \(ops.sorted())")
        let (again, _) = try ONNXImporter.importModel(data: try ONNXExporter.export(folded), source: "\(c) (folded, exported)")
        let differing = zip(again.nodes, folded.nodes).filter { $0 != $1 }.map { a, b in
            "\(b.name): " + (a.op != b.op ? "op \(String(describing: a.op).prefix(300)) vs \(String(describing: b.op).prefix(300))" : "inputs/outputs differ")
        }
        #expect(again.nodes.count == folded.nodes.count && differing.isEmpty, "\(c): re-imported graph differs: \(differing)")
        let e = worst(try run(again, input: input), expected)
        #expect(e <= Self.tolerance, "\(c): re-imported folded model vs torch: \(e)")
    }

    @Test("every model in fixtures/torch is tested")
    func everyFileListed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TorchCase.directory).filter { $0.hasSuffix(".onnx") }
        #expect(Set(files) == Set(TorchCase.all.map { $0.model + ".onnx" }))
    }
}
