// Runs the built `cnnconv` executable: stdout, stderr and exit codes as a user sees them.
import CNNTestSupport
import Foundation
import Testing

@Suite struct InspectCLITests {
    static let fixtures = ["small_cnn.cnnm", "resnet_mini.cnnm", "mixed_ops.cnnm", "every_op.cnnm"]

    @Test(arguments: fixtures)
    func inspectPrintsTheTable(_ name: String) throws {
        let r = try CLI.run(["inspect", Repository.fixture(name)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("cnnconv format 1.0"))
        #expect(r.stdout.contains("checksums ok"))
        #expect(r.stdout.contains("input → output"))
        #expect(r.stdout.contains("MACs per sample"))
    }

    @Test func smallCNNReportsWhatFolds() throws {
        let r = try CLI.run(["inspect", Repository.fixture("small_cnn.cnnm")])
        #expect(r.stdout.contains("Conv2d 3→16 k3 s1 p1"))
        #expect(r.stdout.contains("1×3×32×32 → 1×16×32×32"))
        #expect(r.stdout.contains("folds into conv1"))
        #expect(r.stdout.contains("BatchNorm 3: 3 fold into their producer"))
        #expect(r.stdout.contains("drop1 p=0.5 inverted (removed)"))
        // conv1 MACs: 16×32×32 outputs × 3·3·3 taps = 442,368.
        #expect(r.stdout.contains("442K"))
    }

    @Test func mixedOpsExplainsTheBatchNormThatCannotFold() throws {
        let r = try CLI.run(["inspect", Repository.fixture("mixed_ops.cnnm")])
        #expect(r.stdout.contains("bn_in"))
        #expect(r.stdout.contains("its input is the graph input image"))
        #expect(r.stdout.contains("×0.8 into conv1's weights"))
    }

    @Test(arguments: fixtures)
    func jsonParsesAndHasTheFields(_ name: String) throws {
        let r = try CLI.run(["inspect", "--json", Repository.fixture(name)])
        #expect(r.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let json = try #require(object)
        for key in [
            "file", "nodes", "parameters", "macs", "batchNorm", "dropout", "warnings", "folded", "appliedPasses",
        ] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(!nodes.isEmpty)
        #expect(nodes[0]["outputShape"] is [Int])
    }

    @Test func smallCNNJsonCountsMatchTheModel() throws {
        let r = try CLI.run(["inspect", "--json", Repository.fixture("small_cnn.cnnm")])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        // 3·16·9+16 + 4·16 + 16·32·9+32 + 4·32 + 32·64·9+64 + 4·64 + 64·10+10
        #expect(json["parameters"] as? Int == 448 + 64 + 4640 + 128 + 18496 + 256 + 650)
        #expect((json["batchNorm"] as? [Any])?.count == 3)
    }

    @Test(arguments: fixtures)
    func dotIsAGraphvizDigraph(_ name: String) throws {
        let r = try CLI.run(["inspect", "--dot", Repository.fixture(name)])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("digraph "))
        #expect(r.stdout.contains("->"))
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("}"))
        #expect(!r.stdout.contains("label=\"image\n"), "raw newline inside a DOT string")
    }
}

@Suite struct BadInputCLITests {
    func expectRefused(_ path: String, containing text: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let r = try CLI.run(["inspect", path])
        #expect(r.status == 3, "exit \(r.status) for \(path)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("cnnconv: "), sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func truncatedFlippedEmptyDirectoryMissing() throws {
        let tmp = TemporaryDirectory()
        let bytes = readBytes(Repository.fixture("small_cnn.cnnm"))
        try expectRefused(
            tmp.write(Array(bytes.prefix(bytes.count / 2)), to: "truncated.cnnm"), containing: "truncated")
        try expectRefused(
            tmp.write(Array(bytes.prefix(40)), to: "tiny.cnnm"), containing: "shorter than the 64-byte preamble")
        var flipped = bytes
        flipped[bytes.count - 100] ^= 0x10
        try expectRefused(tmp.write(flipped, to: "flipped.cnnm"), containing: "checksum")
        try expectRefused(tmp.write([], to: "empty.cnnm"), containing: "empty")
        try expectRefused(tmp.path, containing: "directory")
        try expectRefused(tmp.file("nope.cnnm"), containing: "no such file")
        try expectRefused(
            tmp.write(
                Array("hello world, not a model at all, just some text".utf8) + [UInt8](repeating: 10, count: 80),
                to: "text.cnnm"),
            containing: "not a cnnconv file")
    }

    @Test func usageErrorsExitTwo() throws {
        let r = try CLI.run(["inspect"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("Missing expected argument"))
        let both = try CLI.run(["inspect", "--json", "--dot", Repository.fixture("small_cnn.cnnm")])
        #expect(both.status == 2)
        let unknown = try CLI.run(["frobnicate"])
        #expect(unknown.status == 2)
    }

    @Test func helpAndVersionExitZero() throws {
        #expect(try CLI.run(["--help"]).status == 0)
        #expect(try CLI.run(["--version"]).stdout.hasPrefix("0."))
    }
}
