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
    var model: String  // fixtures/torch-modern/<model>.onnx
    var stem: String  // fixtures/torch-modern/<stem>.input.npy / .output.npy
    var batchNorms: Int  // BatchNormalization nodes torch left in the file
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

    /// Files that cannot pass before issue #11's ops are in: model → what is missing. Delete an
    /// entry to enable its tests fully; an entry whose model passes fails the suite.
    static let pendingOn11: [String: String] = [:]

    /// Runs `body`, inside `withKnownIssue` while `c` is pending on issue #11.
    func pending(_ c: TorchModernCase, _ body: () throws -> Void) {
        if let reason = Self.pendingOn11[c.model] {
            withKnownIssue(Comment(rawValue: reason)) { try body() }
        } else {
            do { try body() } catch { Issue.record(error, "\(c)") }
        }
    }

    @Test(
        "imports, runs and matches torch; folds (no BatchNorm left) and still matches", arguments: TorchModernCase.all)
    func importRunFold(_ c: TorchModernCase) throws {
        let input = try NPY.read(c.file(c.stem + ".input.npy"))
        let expected = try NPY.read(c.file(c.stem + ".output.npy"))
        pending(c) {
            try TorchChecks.importRunFold(
                "\(c)", model: c.file(c.model + ".onnx"), input: input, expected: expected, batchNorms: c.batchNorms)
        }
    }

    @Test(
        "the folded model exports without BatchNormalization, re-imports and still matches torch",
        arguments: TorchModernCase.all)
    func foldedRoundTrip(_ c: TorchModernCase) throws {
        let input = try NPY.read(c.file(c.stem + ".input.npy"))
        let expected = try NPY.read(c.file(c.stem + ".output.npy"))
        pending(c) {
            try TorchChecks.foldExportReimport(
                "\(c)", model: c.file(c.model + ".onnx"), input: input, expected: expected)
        }
    }

    @Test("the fixtures are what the script says: symbolic batch, opsets, BatchNorms kept or fused")
    func filesAreAsDescribed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TorchModernCase.directory).filter {
            $0.hasSuffix(".onnx")
        }
        #expect(
            Set(files) == Set(TorchModernCase.all.map { $0.model + ".onnx" }),
            "every model in fixtures/torch-modern is tested")
        for c in TorchModernCase.all {
            let data = try Data(contentsOf: URL(fileURLWithPath: c.file(c.model + ".onnx")))
            #expect(data.count < 1 << 20, "\(c): \(data.count) bytes")
            let input = try NPY.read(c.file(c.stem + ".input.npy"))
            #expect(input.shape[0] == 2, "\(c): the saved input is batch 2")
        }
    }
}
