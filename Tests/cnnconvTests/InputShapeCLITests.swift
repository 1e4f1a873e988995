// `--input-shape` on every command that reads a model (docs/pypi-models.md findings 1 and 2): an
// ONNX file with symbolic H and W, as every PaddleOCR export has, is read by inspect, fold, run,
// verify, export and recalibrate when the shape is given, and refused with the user's own command
// completed by `--input-shape` when it is not; on a .cnnm with a symbolic batch the option sets it.
import CNNGraph
import CNNONNX
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

@Suite struct InputShapeCLITests {
    /// One 3×3 conv (padding 1, weights all 1) whose input is [1, 3, H, W], written as ONNX.
    static func symbolicHW(in dir: TemporaryDirectory) throws -> String {
        var b = GraphBuilder()
        let x = b.input("x", [.fixed(1), .fixed(3), .symbol("H"), .symbol("W")])
        let w = Tensor(name: "w", shape: [2, 3, 3, 3], values: [Float](repeating: 1, count: 54))
        let y = b.add("y", .conv2d(Conv2d(weight: w, window: Window2d(k: 3, p: 1))), x)
        b.output(y)
        var g = try b.build()
        g.outputs[0].shape = [.fixed(1), .fixed(2), .symbol("H"), .symbol("W")]
        let path = dir.file("dyn_hw.onnx")
        try ONNXExporter.write(g, to: path)
        return path
    }

    @Test(arguments: ["inspect", "fold", "run", "verify", "export", "recalibrate"])
    func withoutTheShapeTheErrorGivesTheCommandToRun(_ command: String) throws {
        let dir = TemporaryDirectory()
        let model = try Self.symbolicHW(in: dir)
        var arguments = [command, model]
        if command == "verify" { arguments.append(model) }
        if command == "fold" || command == "export" { arguments += ["-o", dir.file("out.onnx")] }
        // The model is read before the calibration data, which need not exist for this refusal.
        if command == "recalibrate" { arguments += ["--inputs", dir.file("calib.npy"), "-o", dir.file("r.cnnm")] }
        let r = try CLI.run(arguments)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("input 'x' has shape [1, 3, H, W], which is not fully known"), "\(r.stderr)")
        // The user's own command line, completed by the option.
        let expected = "cnnconv " + arguments.joined(separator: " ") + " --input-shape 1,3,224,224"
        #expect(r.stderr.contains(expected), "\(r.stderr)")
        #expect(!r.stderr.contains("import it first") && !r.stderr.contains("and use that file"))
    }

    @Test func everyCommandReadsItWithTheShapeGiven() throws {
        let dir = TemporaryDirectory()
        let model = try Self.symbolicHW(in: dir)
        let shape = ["--input-shape", "1,3,8,6"]
        let inspect = try CLI.run(["inspect", model] + shape)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("1×3×8×6 → 1×2×8×6"), "\(inspect.stdout)")
        let folded = dir.file("folded.onnx")
        let fold = try CLI.run(["fold", model, "-o", folded] + shape)
        #expect(fold.status == 0, "\(fold.stderr)")
        let verify = try CLI.run(["verify", model, folded, "--samples", "2"] + shape)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(try CLI.run(["export", model, "-o", dir.file("exported.onnx")] + shape).status == 0)

        // run: a constant input of 1 through all-ones 3×3 weights sums the taps inside the image:
        // 3 channels × 9 = 27 inside, 3 × 4 = 12 at a corner (padding is zero).
        let ones = dir.file("ones.npy")
        try NPY.write(NPYArray(shape: [1, 3, 8, 6], values: .float32([Float](repeating: 1, count: 144))), to: ones)
        let run = try CLI.run(["run", model, "--input", ones, "--json"] + shape)
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let output = try #require((json["outputs"] as? [[String: Any]])?.first)
        #expect(output["shape"] as? [Int] == [1, 2, 8, 6])
        #expect(output["max"] as? Double == 27 && output["min"] as? Double == 12)
    }

    @Test func aShapeThatContradictsAFixedDimensionIsAUsageErrorNamingIt() throws {
        let dir = TemporaryDirectory()
        let model = try Self.symbolicHW(in: dir)
        for command in [["inspect", model], ["fold", model, "-o", dir.file("o.onnx")]] {
            let r = try CLI.run(command + ["--input-shape", "1,4,8,8"])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("input 'x'") && r.stderr.contains("dimension 1 is fixed at 3"), "\(r.stderr)")
        }
        let cnnm = Repository.fixture("small_cnn.cnnm")
        let r = try CLI.run(["run", cnnm, "--input-shape", "2,3,16,32"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("input 'image'") && r.stderr.contains("dimension 2 is fixed at 32"), "\(r.stderr)")
        let rank = try CLI.run(["inspect", cnnm, "--input-shape", "3,32,32"])
        #expect(rank.status == 2 && rank.stderr.contains("rank 4"), "\(rank.stderr)")
        let syntax = try CLI.run(["verify", cnnm, cnnm, "--input-shape", "1,x,32,32"])
        #expect(syntax.status == 2 && syntax.stderr.contains("positive integers"), "\(syntax.stderr)")
    }

    @Test func onACnnmWithASymbolicBatchItSetsTheBatch() throws {
        let cnnm = Repository.fixture("small_cnn.cnnm")
        let run = try CLI.run(["run", cnnm, "--input-shape", "3,3,32,32", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((json["outputs"] as? [[String: Any]])?.first?["shape"] as? [Int] == [3, 10])
        let inspect = try CLI.run(["inspect", cnnm, "--input-shape", "3,3,32,32"])
        #expect(inspect.stdout.contains("3×3×32×32 → 3×16×32×32"), "\(inspect.stdout)")
    }
}
