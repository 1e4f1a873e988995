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

    @Test("imports, runs and matches torch; folds both BatchNorm1d and still matches")
    func importRunFold() throws {
        let input = try NPY.read(file("conv1d_bn.input.npy"))
        let expected = try NPY.read(file("conv1d_bn.output.npy"))
        try TorchChecks.importRunFold(
            "conv1d_bn", model: file("conv1d_bn.onnx"), input: input, expected: expected, batchNorms: 2)
    }

    @Test("the folded model exports with N×C×L input, re-imports and still matches torch")
    func foldedRoundTrip() throws {
        let input = try NPY.read(file("conv1d_bn.input.npy"))
        let expected = try NPY.read(file("conv1d_bn.output.npy"))
        let (folded, again) = try TorchChecks.foldExportReimport(
            "conv1d_bn", model: file("conv1d_bn.onnx"), input: input, expected: expected)
        #expect(folded.inputs.first?.shape.count == 3, "the folded graph's input keeps rank 3")
        #expect(again.nodes.filter { $0.op.kindName == "Conv2d" }.count == 2)
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
}
