// `cnnconv fold` and `cnnconv verify` as a user runs them.
import CNNFixtures
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct FoldVerifyCLITests {
    func copy(_ fixture: String, to tmp: TemporaryDirectory) -> String {
        tmp.write(readBytes(Repository.fixture(fixture)), to: fixture)
    }

    @Test(arguments: ["small_cnn.cnnm", "resnet_mini.cnnm", "mixed_ops.cnnm", "every_op.cnnm"])
    func foldWritesAVerifiedModelBesideTheInput(_ fixture: String) throws {
        let tmp = TemporaryDirectory()
        let model = copy(fixture, to: tmp)
        let before = readBytes(model)
        let r = try CLI.run(["fold", model])
        #expect(r.status == 0, "\(r.stderr)")
        let output = tmp.file(fixture.replacingOccurrences(of: ".cnnm", with: ".folded.cnnm"))
        #expect(r.stdout.contains("— pass"))
        #expect(r.stdout.contains("wrote \(output)"))
        #expect(readBytes(model) == before, "the input must never change")
        let folded = try Graph(contentsOf: output)
        #expect(!folded.nodes.contains { $0.op.kindName == "BatchNorm" || $0.op.kindName == "Dropout" })
        // inspect shows it is folded.
        let inspect = try CLI.run(["inspect", output])
        #expect(inspect.stdout.contains("folded ("))
        #expect(inspect.stdout.contains("folded: BatchNorm "))
        // Folding again is a no-op that says so.
        let again = try CLI.run(["fold", output, "-o", tmp.file("again.cnnm")])
        #expect(again.status == 0)
        #expect(again.stdout.contains("already folded"))
        #expect(!FileManager.default.fileExists(atPath: tmp.file("again.cnnm")))
    }

    @Test func foldRefusesToReplaceItsInputWithoutInPlace() throws {
        let tmp = TemporaryDirectory()
        let model = copy("small_cnn.cnnm", to: tmp)
        let r = try CLI.run(["fold", model, "-o", model])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--in-place"))
    }

    @Test func foldStoresF16AndCompressesAndStillVerifies() throws {
        let tmp = TemporaryDirectory()
        let model = copy("resnet_mini.cnnm", to: tmp)
        let r = try CLI.run([
            "fold", model, "-o", tmp.file("half.cnnm"), "--dtype", "f16", "--compress", "shuffle", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["output"] as? String == tmp.file("half.cnnm"))
        #expect((json["verification"] as? [String: Any])?["passed"] as? Bool == true)
        let inspect = try CLI.run(["inspect", tmp.file("half.cnnm")])
        #expect(inspect.stdout.contains("f16 shuffle"))
        #expect(readBytes(tmp.file("half.cnnm")).count < readBytes(model).count / 2)
    }

    @Test func verifyPassesOnACorrectFoldAndFailsOnAPerturbedOne() throws {
        let tmp = TemporaryDirectory()
        let model = copy("small_cnn.cnnm", to: tmp)
        let folded = tmp.file("folded.cnnm")
        #expect(try CLI.run(["fold", model, "-o", folded, "--no-verify"]).status == 0)
        let good = try CLI.run(["verify", model, folded, "--json"])
        #expect(good.status == 0, "\(good.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any])
        #expect(json["passed"] as? Bool == true)
        let output = try #require((json["outputs"] as? [[String: Any]])?.first)
        let error = try #require(output["error"] as? [String: Any])
        for key in [
            "maxAbsError", "maxRelError", "meanAbsError", "rmsError", "cosineSimilarity", "argmaxAgreement",
            "maxAbsIndex", "candidateValue", "referenceValue", "neededAtol", "neededRtol", "histogram",
        ] {
            #expect(error[key] != nil, "missing \(key)")
        }
        #expect(output["float32Error"] != nil)

        // Perturb one folded weight through the API: verify must fail with exit 1.
        var graph = try Graph(contentsOf: folded)
        guard case .conv2d(var conv) = graph.nodes[0].op else { Issue.record("conv first"); return }
        var w = conv.weight.array
        w[3] += 0.05
        conv.weight = Tensor(name: conv.weight.name, shape: conv.weight.shape, values: w)
        graph.nodes[0].op = .conv2d(conv)
        try graph.write(to: tmp.file("wrong.cnnm"))
        let bad = try CLI.run(["verify", model, tmp.file("wrong.cnnm"), "--per-layer"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("FAIL"))
        #expect(bad.stdout.contains("first divergence: conv1"))
    }

    @Test func verifyTakesInputsFromNpyFiles() throws {
        let tmp = TemporaryDirectory()
        let model = copy("small_cnn.cnnm", to: tmp)
        // A float32 .npy of shape (2, 3, 32, 32), written by hand as the NumPy format says.
        let count = 2 * 3 * 32 * 32
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 32, 32), }"
        while (10 + header.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] =
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
            + Array(header.utf8)
        for i in 0..<count { withUnsafeBytes(of: Float(sin(Double(i))).bitPattern.littleEndian) { bytes += $0 } }
        let input = tmp.write(bytes, to: "x.npy")
        let r = try CLI.run(["verify", model, model, "--inputs", input])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("output fc [2×10], 2 inputs from files"))
        #expect(r.stdout.contains("all 20 elements identical"))
    }
}
