// Issue 12 through the CLI: hostile models and arguments end in a one-line error and a
// documented exit code (2 usage, 3 invalid input, 1 verification failed), never a crash.
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct HostileCLITests {
    func constant(_ name: String, _ shape: [Int], _ value: Float = 1) -> Tensor {
        Tensor(name: name, shape: shape, values: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A chain of `ops` on input `x`, written without validation (as a hostile file would be).
    func write(_ tmp: TemporaryDirectory, _ name: String, input: [CNNGraph.Dimension], _ ops: [(String, Op)]) throws
        -> String
    {
        var nodes: [Node] = []
        var x = "x"
        for (n, op) in ops { nodes.append(Node(name: n, op: op, inputs: [x], outputs: [n])); x = n }
        let g = Graph(
            name: name, inputs: [ValueInfo(name: "x", shape: input)], outputs: [ValueInfo(name: x, shape: [])],
            nodes: nodes)
        return tmp.write(try g.serialized(), to: name + ".cnnm")
    }

    /// Exited by itself (not killed by a signal) with `status`, one `cnnconv:` line naming `mentions`.
    func expectFailure(_ r: CommandResult, _ status: Int32, mentions: [String], _ what: String) {
        #expect(r.status == status, "\(what): exit \(r.status), stderr: \(r.stderr)")
        for m in mentions { #expect(r.stderr.contains(m), "\(what): stderr lacks \(m): \(r.stderr)") }
    }

    @Test func aConvTransposeWithStride2To32Minus1FailsInEveryCommand() throws {
        let tmp = TemporaryDirectory()
        let s = Int(UInt32.max)
        let model = try write(
            tmp, "deconv", input: [.fixed(1), .fixed(1), .fixed(2), .fixed(2)],
            [
                (
                    "up",
                    .convTranspose2d(
                        ConvTranspose2d(
                            weight: constant("up.w", [1, 1, 1, 1]),
                            window: Window2d(kernel: (1, 1), stride: (s, s))))
                )
            ])
        for args in [
            ["run", model], ["fold", model, "-o", tmp.file("f.cnnm")], ["inspect", model], ["verify", model, model],
        ] {
            expectFailure(try CLI.run(args), 3, mentions: ["cnnconv: ", "'up'"], args[0])
        }
    }

    @Test func modelsThatWouldAllocateExabytesAreRefusedAtLoad() throws {
        let tmp = TemporaryDirectory()
        let x: [CNNGraph.Dimension] = [.fixed(1), .fixed(3), .fixed(8), .fixed(8)]
        let resize: Op = .resize(Resize(mode: .nearest, scaleH: 1e9, scaleW: 1e9))
        let conv: Op = .conv2d(Conv2d(weight: constant("c.w", [4, 3, 1, 1]), window: Window2d(k: 1, p: 100_000)))
        let relu: Op = .activation(.relu)
        let wide: [CNNGraph.Dimension] = [.fixed(1), .fixed(1), .fixed(1 << 31), .fixed(1 << 31)]
        let batch: [CNNGraph.Dimension] = [.fixed(1 << 40), .fixed(3), .fixed(8), .fixed(8)]
        var cases: [(String, [CNNGraph.Dimension], [(String, Op)], String)] = []
        cases.append(("resize", x, [("up", resize)], "'up'"))
        cases.append(("pads", x, [("conv", conv)], "'conv'"))
        cases.append(("wide", wide, [("relu", relu)], "'x'"))
        cases.append(("batch", batch, [("relu", relu)], "'x'"))
        for (name, input, ops, node) in cases {
            let model = try write(tmp, name, input: input, ops)
            for args in [["inspect", model], ["run", model], ["fold", model, "-o", tmp.file("f.cnnm")]] {
                expectFailure(try CLI.run(args), 3, mentions: [node, "limit"], "\(name) \(args[0])")
            }
        }
    }

    @Test func maxMemoryLowersAndRaisesTheLimit() throws {
        let tmp = TemporaryDirectory()
        // 1×1×1024×1024 f32: 4 MiB per value, 8 MiB for input and output.
        let model = try write(
            tmp, "big", input: [.fixed(1), .fixed(1), .fixed(1024), .fixed(1024)], [("relu", .activation(.relu))])
        #expect(try CLI.run(["run", model]).status == 0)
        expectFailure(
            try CLI.run(["run", model, "--max-memory", "6M"]), 3, mentions: ["limit of 6 MiB"], "--max-memory 6M")
        expectFailure(
            try CLI.run(["run", model], environment: ["CNNCONV_MAX_MEMORY": "6M"]), 3, mentions: ["limit of 6 MiB"],
            "env 6M")
        #expect(try CLI.run(["run", model, "--max-memory", "6M", "--f64"]).status == 3)
        #expect(try CLI.run(["run", model, "--max-memory", "64M", "--f64"]).status == 0)
        expectFailure(try CLI.run(["run", model, "--max-memory", "lots"]), 2, mentions: ["--max-memory"], "bad size")
        expectFailure(
            try CLI.run(["inspect", model], environment: ["CNNCONV_MAX_MEMORY": "0"]), 2,
            mentions: ["CNNCONV_MAX_MEMORY"], "bad env")
    }

    @Test func hugeCountsAreUsageErrors() throws {
        let model = Repository.fixture("small_cnn.cnnm")
        for args in [
            ["run", model, "--batch", "1099511627776"], ["run", model, "--batch", "4611686018427387904"],
            ["verify", model, model, "--samples", "1099511627776"],
            ["verify", model, model, "--batch", "1099511627776"],
            ["fold", model, "--samples", "1099511627776"], ["run", model, "--mc-dropout", "1099511627776"],
        ] {
            expectFailure(try CLI.run(args), 2, mentions: [], args.joined(separator: " "))
        }
        // Within the count bound but not the memory: 2^23 samples of 3×32×32 inputs need 96 GiB.
        expectFailure(
            try CLI.run(["verify", model, model, "--samples", "8388608"]), 2, mentions: ["--samples", "limit"],
            "samples × memory")
    }

    @Test func labelsThatAreNotClassIndicesAreRefusedNamingFileAndIndex() throws {
        let tmp = TemporaryDirectory()
        let model = Repository.fixture("small_cnn.cnnm")  // 10 classes
        for (i, bad) in [Double.nan, .infinity, 9.3e18, 1e300, -1, 10, 2.5].enumerated() {
            let labels = tmp.file("labels\(i).npy")
            try npy(shape: [8], values: [0, 1, 2, 3, 4, bad, 6, 7]).write(to: URL(fileURLWithPath: labels))
            let r = try CLI.run(["verify", model, model, "--labels", labels])
            expectFailure(r, 3, mentions: ["labels\(i).npy", "label 5"], "label \(bad)")
        }
    }

    @Test func bothOutputsNaNIsAFailure() throws {
        let tmp = TemporaryDirectory()
        // BN with σ² = 0 and ε = 0 (allowed) sends x − μ ≠ 0 to ±inf; × 0 makes NaN.
        let bn = BatchNorm(
            scale: nil, bias: nil, runningMean: constant("bn.mean", [2], 0),
            runningVariance: constant("bn.var", [2], 0), epsilon: 0)
        let zero = Affine(scale: constant("z.scale", [2], 0), shift: constant("z.shift", [2], 0))
        let model = try write(
            tmp, "nan", input: [.symbol("N"), .fixed(2), .fixed(3), .fixed(3)],
            [("bn", .batchNorm(bn)), ("zero", .affine(zero))])
        for arguments in [["verify", model, model], ["verify", model, model, "--no-budget", "--atol", "1e-5"]] {
            let r = try CLI.run(arguments)
            #expect(r.status == 1, "\(arguments): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("NaN") || r.stdout.contains("non-finite"), "\(r.stdout)")
        }
    }

    @Test func inspectSurvivesAZeroVarianceZeroEpsilonBatchNorm() throws {
        let tmp = TemporaryDirectory()
        let bn = BatchNorm(
            scale: constant("bn.g", [2]), bias: constant("bn.b", [2], 0), runningMean: constant("bn.mean", [2], 0),
            runningVariance: constant("bn.var", [2], 0), epsilon: 0)
        let model = try write(
            tmp, "bn0", input: [.symbol("N"), .fixed(2), .fixed(3), .fixed(3)], [("bn", .batchNorm(bn))])
        let r = try CLI.run(["inspect", model])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("×inf"))
        #expect(try CLI.run(["inspect", model, "--json"]).status == 0)
    }

    @Test func anUnknownEnumValueIsRefusedNamingNodeAndField() throws {
        let tmp = TemporaryDirectory()
        let g = Graph(
            inputs: [ValueInfo(name: "x", shape: [.fixed(1), .fixed(2), .fixed(4), .fixed(4)])],
            outputs: [ValueInfo(name: "p", shape: [])],
            nodes: [
                Node(
                    name: "p", op: .pool2d(Pool2d(kind: .average, window: Window2d(k: 2, s: 2))), inputs: ["x"],
                    outputs: ["p"])
            ])
        var header = try ModelFile(bytes: try g.serialized()).header
        header.nodes[0].pool2D.kind = .UNRECOGNIZED(5)
        let model = tmp.write(try ModelFileWriter.serialize(header: header, tensors: []), to: "enum.cnnm")
        for args in [["inspect", model], ["run", model]] {
            expectFailure(try CLI.run(args), 3, mentions: ["'p'", "pool2d.kind", "5"], args[0])
        }
    }

    @Test func anOutputWithNoDeclaredShapeFoldsAndVerifies() throws {
        let tmp = TemporaryDirectory()
        let bn = BatchNorm(
            scale: constant("bn.g", [2], 2), bias: constant("bn.b", [2], 1), runningMean: constant("bn.mean", [2], 0.5),
            runningVariance: constant("bn.var", [2], 4))
        let model = try write(
            tmp, "undeclared", input: [.symbol("N"), .fixed(2), .fixed(3), .fixed(3)],
            [
                ("conv", .conv2d(Conv2d(weight: constant("c.w", [2, 2, 1, 1], 0.5), window: Window2d(k: 1)))),
                ("bn", .batchNorm(bn)),
            ])
        #expect(try ModelFile(path: model).header.outputs[0].shape.isEmpty)
        let fold = try CLI.run(["fold", model, "-o", tmp.file("f.cnnm")])
        #expect(fold.status == 0, "\(fold.stderr)")
        let verify = try CLI.run(["verify", model, tmp.file("f.cnnm")])
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    @Test func aModelTruncatedWhileMappedIsReportedNotACrash() throws {
        let tmp = TemporaryDirectory()
        // 64 MiB of weights: loading reads them several times (checksums, NaN scan, conversion).
        let fc = Linear(weight: constant("fc.w", [4096, 4096], 0.001))
        let model = try write(tmp, "big", input: [.symbol("N"), .fixed(4096)], [("fc", .linear(fc))])
        var reported = false
        for delay in [0.25, 0.1, 0.5, 0.05, 1.0] where !reported {
            let copy = tmp.write(readBytes(model), to: "victim.cnnm")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.executable)
            process.arguments = ["run", copy]
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            #expect(truncate(copy, 4096) == 0)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            // Whenever the truncation lands, the process exits by itself: 0 (it had read
            // everything) or 3 (a truncated file, or one that changed while mapped).
            #expect(process.terminationReason == .exit, "killed by signal \(process.terminationStatus): \(stderr)")
            #expect([0, 3].contains(process.terminationStatus), "\(stderr)")
            reported = stderr.contains("file changed while reading")
        }
        #expect(reported, "no run was caught mid-read")
    }

    /// A float64 .npy file image (version 1.0), written here rather than with the code under test.
    func npy(shape: [Int], values: [Double]) -> Data {
        var header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data(
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        d.append(Data(header.utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }
}
