// Output names as people type them: one character, no folder, no extension (`fold -o a`
// crashed with SIGILL in Foundation's NSString path code).
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct PathCLITests {
    @Test func oneCharacterNamesInTheCurrentFolder() throws {
        let tmp = TemporaryDirectory()
        _ = tmp.write(readBytes(Repository.fixture("small_cnn.cnnm")), to: "m")
        let fold = try CLI.run(["fold", "m", "-o", "a"], currentDirectory: tmp.path)
        #expect(fold.status == 0, "\(fold.stderr)")
        #expect(try Graph(contentsOf: tmp.file("a")).nodes.count > 0)
        // No extension: the default output is MODEL.folded.
        let again = try CLI.run(["fold", "m", "--force"], currentDirectory: tmp.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(FileManager.default.fileExists(atPath: tmp.file("m.folded")))
        let export = try CLI.run(["export", "a", "-o", "b"], currentDirectory: tmp.path)
        #expect(export.status == 0, "\(export.stderr)")
        let run = try CLI.run(["run", "a", "--output", "y"], currentDirectory: tmp.path)
        #expect(run.status == 0, "\(run.stderr)")
    }
}

@Suite struct ONNXInOutCLITests {
    @Test func foldOnnxToFoldedOnnxInOneCommandAndVerifyAcrossFormats() throws {
        let tmp = TemporaryDirectory()
        let source = Repository.fixture("torch/resnet_mini.nofold.onnx")
        let fold = try CLI.run(["fold", source, "-o", tmp.file("folded.onnx")])
        #expect(fold.status == 0, "\(fold.stdout)\(fold.stderr)")
        #expect(fold.stdout.contains("— pass"))
        // The written file is ONNX with no BatchNormalization left.
        let back = try CLI.run(["import", tmp.file("folded.onnx"), "-o", tmp.file("back.cnnm"), "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try !Graph(contentsOf: tmp.file("back.cnnm")).nodes.contains { $0.op.kindName == "BatchNorm" })
        // verify mixes formats: the original ONNX against the folded model as .cnnm.
        let verify = try CLI.run(["verify", source, tmp.file("back.cnnm"), "--samples", "2"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // --dtype applies to .cnnm only.
        let refused = try CLI.run(["fold", source, "-o", tmp.file("half.onnx"), "--dtype", "f16"])
        #expect(refused.status == 2)
    }
}
