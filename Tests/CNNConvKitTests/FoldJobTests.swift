// The fold workflow as a library call, with the tool's rules.
import CNNConvKit
import CNNTestSupport
import Foundation
import Testing

@Suite struct FoldJobTests {
    @Test func foldsVerifiesAndWritesBesideTheInput() throws {
        let tmp = TemporaryDirectory()
        let model = tmp.write(readBytes(Repository.fixture("mixed_ops.cnnm")), to: "mixed_ops.cnnm")
        let outcome = try FoldJob().run(input: model)
        #expect(outcome.wrote && outcome.output == tmp.file("mixed_ops.folded.cnnm"))
        #expect(outcome.verification?.passed == true)
        #expect(
            try !Graph(contentsOf: tmp.file("mixed_ops.folded.cnnm")).nodes.contains { $0.op.kindName == "BatchNorm" })
        // Again on the result: already folded, nothing written.
        let again = try FoldJob().run(input: tmp.file("mixed_ops.folded.cnnm"), output: tmp.file("again.cnnm"))
        #expect(again.alreadyFolded && !again.wrote)
        #expect(!FileManager.default.fileExists(atPath: tmp.file("again.cnnm")))
    }

    @Test func onnxInFoldedOnnxOut() throws {
        let tmp = TemporaryDirectory()
        let input = Repository.fixture("torch/resnet_mini.nofold.onnx")
        let outcome = try FoldJob().run(input: input, output: tmp.file("folded.onnx"))
        #expect(outcome.wrote && outcome.passed)
        let back = try ModelFiles.load(tmp.file("folded.onnx"))
        #expect(!back.nodes.contains { $0.op.kindName == "BatchNorm" })
        #expect(outcome.original.nodes.contains { $0.op.kindName == "BatchNorm" })
    }

    @Test func neverWritesOverTheInputThroughAnotherName() throws {
        let tmp = TemporaryDirectory()
        let model = tmp.write(readBytes(Repository.fixture("small_cnn.cnnm")), to: "m.cnnm")
        try FileManager.default.createSymbolicLink(atPath: tmp.file("link.cnnm"), withDestinationPath: model)
        let before = readBytes(model)
        #expect(throws: FoldJobError.self) { try FoldJob().run(input: model, output: tmp.file("link.cnnm")) }
        #expect(throws: FoldJobError.self) { try FoldJob().run(input: model, output: tmp.path + "/./m.cnnm") }
        #expect(readBytes(model) == before)
    }

    @Test func aFailedCheckWritesNothingUnlessForced() throws {
        let tmp = TemporaryDirectory()
        let model = tmp.write(readBytes(Repository.fixture("small_cnn.cnnm")), to: "m.cnnm")
        var job = FoldJob()
        job.verification?.rule = .allclose(atol: 0, rtol: 0)
        job.verification?.samples = 2
        let refused = try job.run(input: model)
        #expect(!refused.passed && !refused.wrote)
        #expect(!FileManager.default.fileExists(atPath: tmp.file("m.folded.cnnm")))
        job.force = true
        #expect(try job.run(input: model).wrote)
    }

    @Test func defaultOutputNames() {
        #expect(FoldJob.defaultOutput(for: "a/model.cnnm") == "a/model.folded.cnnm")
        #expect(FoldJob.defaultOutput(for: "model.onnx") == "model.folded.onnx")
        #expect(FoldJob.defaultOutput(for: "model") == "model.folded")
        #expect(FoldJob.defaultOutput(for: "a") == "a.folded")
    }
}
