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
    var model: String  // fixtures/torch/<model>.onnx
    var stem: String  // fixtures/torch/<stem>.input.npy / .output.npy
    var batchNorms: Int  // BatchNormalization nodes torch left in the file
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
    @Test("imports, runs and matches torch; folds and still matches", arguments: TorchCase.all)
    func importRunFold(_ c: TorchCase) throws {
        try TorchChecks.importRunFold(
            "\(c)", model: c.file(c.model + ".onnx"), input: try NPY.read(c.file(c.stem + ".input.npy")),
            expected: try NPY.read(c.file(c.stem + ".output.npy")), batchNorms: c.batchNorms)
    }

    @Test(
        "the folded model exports without BatchNormalization and re-imports to the same graph", arguments: TorchCase.all
    )
    func foldedRoundTrip(_ c: TorchCase) throws {
        let (folded, again) = try TorchChecks.foldExportReimport(
            "\(c)", model: c.file(c.model + ".onnx"), input: try NPY.read(c.file(c.stem + ".input.npy")),
            expected: try NPY.read(c.file(c.stem + ".output.npy")))
        let differing = zip(again.nodes, folded.nodes).filter { $0 != $1 }.map { a, b in
            "\(b.name): "
                + (a.op != b.op
                    ? "op \(String(describing: a.op).prefix(300)) vs \(String(describing: b.op).prefix(300))"
                    : "inputs/outputs differ")
        }
        #expect(
            again.nodes.count == folded.nodes.count && differing.isEmpty,
            "\(c): re-imported graph differs: \(differing)")
    }

    @Test("every model in fixtures/torch is tested")
    func everyFileListed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TorchCase.directory).filter {
            $0.hasSuffix(".onnx")
        }
        #expect(Set(files) == Set(TorchCase.all.map { $0.model + ".onnx" }))
    }
}
