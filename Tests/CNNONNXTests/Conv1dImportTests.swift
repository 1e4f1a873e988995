// 1-D convolution and pooling (fixtures/torch-1d: Conv1d + BatchNorm1d + ReLU + MaxPool1d +
// Linear written by torch.onnx.export, scripts/make_conv1d_fixture.py): the N×C×L values import
// as N×C×1×L, so the model runs and matches torch, both BatchNorm1d fold into their Conv1d, and
// the folded export (still N×C×L at its input) re-imports and matches torch again. The numbers
// to match are torch's own eval-mode output.
import CNNGraph
import CNNONNX
import CNNPasses
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

@Suite("1-D conv/pool import (fixtures/torch-1d)")
struct Conv1dImportTests {
    static let directory = Repository.fixture("torch-1d")
    func file(_ name: String) -> String { Self.directory + "/" + name }
    /// NAME's seeded input and torch's output.
    func data(_ stem: String) throws -> (input: NPYArray, expected: NPYArray) {
        (try NPY.read(file(stem + ".input.npy")), try NPY.read(file(stem + ".output.npy")))
    }

    @Test("imports, runs and matches torch; folds both BatchNorm1d and still matches")
    func importRunFold() throws {
        let (input, expected) = try data("conv1d_bn")
        try TorchChecks.importRunFold(
            "conv1d_bn", model: file("conv1d_bn.onnx"), input: input, expected: expected, batchNorms: 2)
    }

    @Test("the folded model exports with N×C×L input, re-imports and still matches torch")
    func foldedRoundTrip() throws {
        let (input, expected) = try data("conv1d_bn")
        let (folded, again) = try TorchChecks.foldExportReimport(
            "conv1d_bn", model: file("conv1d_bn.onnx"), input: input, expected: expected)
        #expect(folded.inputs.first?.shape.count == 3, "the folded graph's input keeps rank 3")
        #expect(again.nodes.filter { $0.op.kindName == "Conv2d" }.count == 2)
        // Written back as torch wrote it: 1-D Conv/MaxPool on N×C×L, no Unsqueeze/Squeeze.
        let proto = try ONNXExporter.exportModel(folded)
        #expect(
            proto.graph.node.map(\.opType) == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm"])
        for n in proto.graph.node where ["Conv", "MaxPool"].contains(n.opType) {
            #expect(n.attribute.first { $0.name == "kernel_shape" }?.ints.count == 1, "\(n.name)")
        }
        let convWeights = proto.graph.node.filter { $0.opType == "Conv" }.map(\.input[1])
        let dims = proto.graph.initializer.filter { convWeights.contains($0.name) }.map(\.dims)
        #expect(dims == [[8, 4, 5], [16, 8, 3]])
    }

    @Test("the convs become 1×k 2-D convs with the Conv1d's stride, dilation and padding on W")
    func windowMapping() throws {
        let (graph, _) = try ONNXImporter.importModel(path: file("conv1d_bn.onnx"), inputShape: [2, 4, 64])
        let convs = graph.nodes.compactMap { n -> Conv2d? in
            if case .conv2d(let c) = n.op { return c }
            return nil
        }
        try #require(convs.count == 2)
        // torch: Conv1d(4, 8, 5, padding=2) and Conv1d(8, 16, 3, stride=2, padding=2, dilation=2)
        let w0 = convs[0].window, w1 = convs[1].window
        #expect(convs[0].weight.shape == [8, 4, 1, 5])
        let got0: [Int] = [w0.kernelH, w0.kernelW, w0.strideW, w0.padLeft, w0.padRight, w0.padTop]
        #expect(got0 == [1, 5, 1, 2, 2, 0])
        #expect(convs[1].weight.shape == [16, 8, 1, 3])
        let got1: [Int] = [w1.kernelW, w1.strideH, w1.strideW, w1.dilationW, w1.padLeft, w1.padRight]
        #expect(got1 == [3, 1, 2, 2, 2, 2])
    }

    /// conv1d_affine: a BatchNorm1d between two ReLUs cannot fold; it becomes a per-channel
    /// affine whose [C, 1, 1] constants only fit N×C×1×L, so the export stays 2-D (Unsqueeze,
    /// 1×k Conv) — and still matches torch after re-import.
    @Test("an unfoldable BatchNorm1d keeps the export 2-D, still matching torch")
    func affineKeepsTwoD() throws {
        let (input, expected) = try data("conv1d_affine")
        try TorchChecks.importRunFold(
            "conv1d_affine", model: file("conv1d_affine.onnx"), input: input, expected: expected, batchNorms: 1)
        let (folded, _) = try TorchChecks.foldExportReimport(
            "conv1d_affine", model: file("conv1d_affine.onnx"), input: input, expected: expected)
        let ops = try ONNXExporter.exportModel(folded).graph.node.map(\.opType)
        #expect(ops.first == "Unsqueeze" && ops.contains("Mul"), "\(ops)")
    }
}
