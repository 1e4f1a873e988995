// Issue 12 as a user meets it on the command line: outputs that must not be replaced (devices,
// FIFOs, the input through a symlink, the model under `run --output`), temporary files after a
// signal, names that would drive the terminal, and the memory a decompression bomb costs.
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite(.serialized) struct HostileInputCLITests {
    func copy(_ fixture: String, to tmp: TemporaryDirectory) -> String {
        tmp.write(readBytes(Repository.fixture(fixture)), to: fixture)
    }

    func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test func specialFilesAreNeverReplaced() throws {
        let tmp = TemporaryDirectory()
        let model = copy("small_cnn.cnnm", to: tmp)
        let fifo = tmp.file("fifo.cnnm")
        #expect(mkfifo(fifo, 0o644) == 0)
        var targets = [fifo, tmp.path]
        // A /dev/null twin in the temporary folder (root only), so no real device is at risk.
        let device = tmp.file("null")
        if mknod(device, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 { targets.append(device) }
        for target in targets {
            let kind = fileType(target)
            for command in [
                ["fold", model, "-o", target, "--no-verify"], ["export", model, "-o", target],
                ["run", model, "--output", target], ["run", model, "--save-input", target],
            ] {
                let r = try CLI.run(command)
                #expect(r.status == 2, "\(command): \(r.stderr)")
                #expect(r.stderr.contains("not a regular file"), "\(r.stderr)")
                #expect(fileType(target) == kind, "\(command) replaced \(target)")
            }
        }
    }

    @Test func theInputIsNotReplacedThroughAnotherName() throws {
        let tmp = TemporaryDirectory()
        let model = copy("small_cnn.cnnm", to: tmp)
        let before = readBytes(model)
        #expect(symlink("small_cnn.cnnm", tmp.file("link.cnnm")) == 0)
        #expect(mkdir(tmp.file("sub"), 0o755) == 0)
        #expect(symlink(tmp.path, tmp.file("sub/up")) == 0)
        for output in [tmp.file("link.cnnm"), tmp.file("sub/up/small_cnn.cnnm")] {
            let r = try CLI.run(["fold", model, "-o", output])
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("same file"), "\(r.stderr)")
        }
        let run = try CLI.run(["run", model, "--output", tmp.file("link.cnnm")])
        #expect(run.status == 2, "\(run.stderr)")
        let saved = try CLI.run(["run", model, "--save-input", model])
        #expect(saved.status == 2, "\(saved.stderr)")
        #expect(readBytes(model) == before, "the model was overwritten")
        #expect(fileType(tmp.file("link.cnnm")) == S_IFLNK)
    }

    @Test func aSymlinkedOutputIsWrittenThroughAndInPlaceKeepsTheMode() throws {
        let tmp = TemporaryDirectory()
        let model = copy("small_cnn.cnnm", to: tmp)
        #expect(symlink("real.cnnm", tmp.file("link.cnnm")) == 0)
        let r = try CLI.run(["fold", model, "-o", tmp.file("link.cnnm"), "--no-verify"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fileType(tmp.file("link.cnnm")) == S_IFLNK)
        #expect(try Graph(contentsOf: tmp.file("real.cnnm")).nodes.count > 0)
        #expect(chmod(model, 0o600) == 0)
        let inPlace = try CLI.run(["fold", model, "--in-place", "--no-verify"])
        #expect(inPlace.status == 0, "\(inPlace.stderr)")
        var info = stat()
        #expect(stat(model, &info) == 0 && info.st_mode & 0o7777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).allSatisfy { !$0.contains("tmp") })
    }

    /// SIGTERM while the output is being written: the temporary file goes with the process.
    @Test func aSignalDuringTheWriteLeavesNoTemporaryFile() throws {
        let tmp = TemporaryDirectory()
        var b = GraphBuilder(name: "big")
        let x = b.input("x", [.fixed(1), .fixed(2048)])
        let weight = Tensor(
            name: "w", shape: [16384, 2048], buffer: FloatBuffer([Float](repeating: 0.25, count: 16384 * 2048)))
        b.output(b.add("fc", .linear(Linear(weight: weight)), x))
        let model = tmp.file("big.cnnm")
        try b.build().write(to: model)
        var caught = 0
        for _ in 0..<3 where caught == 0 {
            let output = tmp.file("out.cnnm")
            // posix_spawn with an empty signal mask: a child of the test runner would otherwise
            // inherit its blocked SIGTERM.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var empty = sigset_t()
            sigemptyset(&empty)
            posix_spawnattr_setsigmask(&attributes, &empty)
            var defaults = sigset_t()
            sigemptyset(&defaults)
            sigaddset(&defaults, SIGTERM)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            let arguments = [CLI.executable, "fold", model, "-o", output, "--no-verify", "--dtype", "f16"]
            var argv = arguments.map { strdup($0) } + [nil]
            defer { for p in argv { free(p) } }
            var pid: pid_t = 0
            #expect(posix_spawn(&pid, CLI.executable, &actions, &attributes, &argv, environ) == 0)
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []
                if names.contains(where: { $0.hasPrefix(".out.cnnm.cnnconv-tmp-\(pid).") }) {
                    kill(pid, SIGTERM)
                    caught += 1
                    waitpid(pid, &status, 0)
                    break
                }
                usleep(200)
            }
            if caught > 0 {
                #expect(status & 0x7F == SIGTERM, "wait status \(status)")  // killed by the re-raised signal
                let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path)
                #expect(left.allSatisfy { !$0.contains("cnnconv-tmp") }, "left behind: \(left)")
                #expect(!left.contains("out.cnnm"))
            } else {
                try? FileManager.default.removeItem(atPath: output)
            }
        }
        #expect(caught > 0, "the write was never seen in progress")
    }

    /// Names with a clear-screen sequence, a window-title sequence, a bidi override, a newline
    /// and a C1 control: inspect's table, --dot and error messages show them escaped.
    @Test func namesCannotDriveTheTerminal() throws {
        let tmp = TemporaryDirectory()
        let hostile = "fc\u{1B}[2J\u{1B}]0;pwned\u{07}\u{202E}gnp.exe\nx\u{9B}"
        var b = GraphBuilder(name: "m\u{1B}[31m")
        let x = b.input("in\u{202E}put", [.fixed(1), .fixed(3)])
        let w = Tensor(name: hostile + ".w", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        b.output(b.add(hostile, .linear(Linear(weight: w)), x))
        let model = tmp.file("m.cnnm")
        try b.build().write(to: model)
        func clean(_ text: String) -> Bool {
            !text.unicodeScalars.contains {
                ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E
            }
        }
        let escaped = displaySafe(hostile)
        let table = try CLI.run(["inspect", model])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(clean(table.stdout), "\(table.stdout.debugDescription)")
        #expect(table.stdout.contains(escaped))
        let dot = try CLI.run(["inspect", model, "--dot"])
        #expect(dot.status == 0)
        #expect(clean(dot.stdout), "\(dot.stdout.debugDescription)")
        #expect(dot.stdout.contains("fc\\\\x1b[2J"))  // displaySafe's backslash, escaped for DOT
        for command in [["run", model]] {
            let r = try CLI.run(command)
            #expect(r.status == 0, "\(command): \(r.stderr)")
            #expect(clean(r.stdout), "\(command): \(r.stdout.debugDescription)")
            #expect(r.stdout.contains(escaped) || r.stdout.contains("m\\x1b[31m"), "\(command): \(r.stdout)")
        }
        // An error naming the node: the same graph with a duplicate tensor reference problem.
        var header = try ModelFile(path: model).header
        header.nodes[0].linear.weight = "missing\u{1B}[8m"
        let broken = HostileFiles.assemble(
            header: header,
            data: readBytes(model).suffix(Int(try ModelFile(path: model).preamble.dataLength)).map { $0 })
        let bad = tmp.write(broken, to: "bad\u{1B}]0;t\u{07}.cnnm")
        let error = try CLI.run(["inspect", bad])
        #expect(error.status == 3)
        #expect(clean(error.stderr.replacingOccurrences(of: "\n", with: "")), "\(error.stderr.debugDescription)")
        #expect(error.stderr.contains("missing\\x1b[8m"), "\(error.stderr)")
        #expect(error.stderr.contains("bad\\x1b]0;t\\x07.cnnm"), "\(error.stderr)")
    }

    /// A decompression bomb (eight f16+deflate tensors of 3 M zeros, ~50 KB) costs no more memory
    /// to refuse than a small model costs to inspect. Before the budget it was accepted (the same
    /// bomb at 5 M elements: a 194 MB peak, 160 MB of floats plus the inflated copies).
    @Test func aDecompressionBombCostsNoMemory() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { return }
        let tmp = TemporaryDirectory()
        // A valid model: four Affine nodes over [1, 3 M], scale and shift all f16+deflate zeros.
        let zeros = FloatBuffer([Float](repeating: 0, count: 3_000_000))
        var b = GraphBuilder(name: "bomb")
        var x = b.input("x", [.fixed(1), .fixed(3_000_000)])
        for i in 0..<4 {
            func t(_ name: String) -> Tensor {
                Tensor(name: name, shape: [3_000_000], buffer: zeros, storage: StorageFormat(.float16, .deflate))
            }
            x = b.add("a\(i)", .affine(Affine(scale: t("s\(i)"), shift: t("b\(i)"))), x)
        }
        b.output(x)
        let path = tmp.file("bomb.cnnm")
        try b.build().write(to: path)
        func peakKB(_ arguments: [String]) throws -> (Int, (status: Int32, stderr: String)) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
            process.arguments = ["-f", "%M", "-o", tmp.file("rss.txt"), CLI.executable] + arguments
            process.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            process.standardError = err
            try process.run()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let kb =
                Int(String(decoding: readBytes(tmp.file("rss.txt")), as: UTF8.self).split(separator: "\n").last ?? "")
                ?? -1
            return (kb, (process.terminationStatus, stderr))
        }
        let (baseline, ok) = try peakKB(["inspect", Repository.fixture("small_cnn.cnnm")])
        #expect(ok.status == 0)
        let (peak, refused) = try peakKB(["inspect", path])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("decoded size"), "\(refused.stderr)")
        #expect(baseline > 0 && peak > 0)
        #expect(
            peak < baseline + 40_000, "peak RSS \(peak) KB refusing the bomb, \(baseline) KB inspecting a small model")
    }
}
