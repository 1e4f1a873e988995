// Issue 12, the format layer's part: what a file may expand to (decoded-bytes budget), what a
// write may replace (OutputPath, AtomicFileWriter), and names that would drive a terminal
// (displaySafe). Each test fails on the code before these limits.
import CNNFormat
import CNNTestSupport
import Foundation
import Testing

@Suite struct DecodedBudgetTests {
    /// A file of `tensors` all-zero tensors of `count` elements each, stored as `format`.
    static func zeros(tensors: Int, count: Int, format: StorageFormat) throws -> [UInt8] {
        let values = FloatBuffer([Float](repeating: 0, count: count))
        let payloads = (0..<tensors).map {
            TensorPayload(name: "t\($0)", dims: [count], format: format, values: values)
        }
        return try ModelFileWriter.serialize(header: Cnnconv_V1_Model(), tensors: payloads)
    }

    /// Four f16+deflate tensors of 5 M zeros: each within deflate's 1032:1 claim, together
    /// 80 MB of Float32 from a ~40 KB file — over the 64 MiB floor; the 4th tensor is named.
    @Test func manySmallBombsAreRefusedTogetherBeforeDecoding() throws {
        let count = 5_000_000
        let bytes = try Self.zeros(tensors: 4, count: count, format: StorageFormat(.float16, .deflate))
        let fileSize = UInt64(bytes.count)
        #expect(fileSize < 200_000)
        // The budget from its definition (FORMAT.md section 3): max(128 × size, 64 MiB), ≤ 16 GiB.
        let budget = max(128 * fileSize, 64 << 20)
        #expect(FormatLimits.decodedBudget(fileSize: fileSize) == budget)
        #expect(
            throws: ModelFileError(
                path: "<memory>",
                reason: .decodedSizeOverBudget(
                    tensor: "t3", total: UInt64(4 * count * 4), budget: budget, fileSize: fileSize))
        ) {
            try ModelFile(bytes: bytes)
        }
        // Three of them fit: 60 MB ≤ 64 MiB.
        let fits = try Self.zeros(tensors: 3, count: count, format: StorageFormat(.float16, .deflate))
        #expect(try ModelFile(bytes: fits).values(of: "t2").count == count)
    }

    @Test func theBudgetScalesWithTheFileAndIsCapped() {
        #expect(FormatLimits.decodedBudget(fileSize: 0) == 64 << 20)
        #expect(FormatLimits.decodedBudget(fileSize: 1 << 20) == 128 << 20)
        #expect(FormatLimits.decodedBudget(fileSize: 1 << 40) == 16 << 30)
        #expect(FormatLimits.decodedBudget(fileSize: .max) == 16 << 30)
    }

    /// Raw f32 tensors are served from the mapping and cost nothing: a file of them is never
    /// over budget however large its tensors.
    @Test func rawFloat32DoesNotCount() throws {
        let bytes = try Self.zeros(tensors: 1, count: 20_000_000, format: .f32Raw)
        #expect(try ModelFile(bytes: bytes, verifyChecksums: false).values(of: "t0").isMapped)
    }

    /// Every element type × compressed encoding decodes in place to the values written (the
    /// scatter of shuffled planes into Float32 slots, across 64 KiB window boundaries).
    @Test(arguments: StorageFormat.ElementType.allCases, [StorageFormat.Encoding.deflate, .shuffle])
    func streamingDecodeMatchesTheValues(_ type: StorageFormat.ElementType, _ encoding: StorageFormat.Encoding) throws {
        let format = StorageFormat(type, encoding)
        var rng = TestRandom(7)
        let count = 100_003  // spans several windows; odd, so planes do not align with them
        let values = format.roundTripped((0..<count).map { _ in Float(rng.uniform() * 8 - 4) })
        let bytes = try ModelFileWriter.serialize(
            header: Cnnconv_V1_Model(),
            tensors: [
                TensorPayload(name: "w", dims: [count], format: format, values: FloatBuffer(values))
            ])
        let read = try ModelFile(bytes: bytes).values(of: "w").array
        #expect(read.map(\.bitPattern) == values.map(\.bitPattern))
    }
}

@Suite struct DisplaySafeTests {
    @Test func controlAndBidiCharactersAreEscaped() {
        #expect(displaySafe("conv1") == "conv1")
        #expect(displaySafe("a\u{1B}[2Jb") == "a\\x1b[2Jb")
        #expect(displaySafe("x\ny\0z\u{7F}") == "x\\x0ay\\x00z\\x7f")
        #expect(displaySafe("\u{1B}]0;title\u{07}") == "\\x1b]0;title\\x07")
        #expect(displaySafe("abc\u{202E}fed") == "abc\\u{202e}fed")
        #expect(
            displaySafe("\u{2066}\u{2069}\u{200E}\u{200F}\u{061C}\u{2028}")
                == "\\u{2066}\\u{2069}\\u{200e}\\u{200f}\\u{061c}\\u{2028}")
        #expect(displaySafe("\u{85}\u{9B}") == "\\u{0085}\\u{009b}")
        #expect(displaySafe("权重.β") == "权重.β")
        #expect(displaySafe(displaySafe("a\u{1B}b")) == displaySafe("a\u{1B}b"))
    }

    @Test func formatErrorsEscapeTheNamesTheyQuote() {
        let error = ModelFileError(path: "m\u{1B}]0;pwned\u{07}.cnnm", reason: .duplicateTensorName("w\u{202E}1\n"))
        let text = error.description
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x202E })
        #expect(text == "m\\x1b]0;pwned\\x07.cnnm: two tensors are named 'w\\u{202e}1\\x0a'")
    }
}

@Suite struct OutputPathTests {
    static func contents(_ path: String) -> String { String(decoding: readBytes(path), as: UTF8.self) }

    @Test func aFIFOIsRefusedAndKept() throws {
        let dir = TemporaryDirectory()
        let fifo = dir.file("out.cnnm")
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: FormatError.self) { try AtomicFileWriter.write([UInt8](repeating: 1, count: 8), to: fifo) }
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(throws: OutputPathError.notARegularFile(path: fifo, kind: "FIFO")) { try OutputPath(fifo) }
    }

    /// A character device (a /dev/null twin made in a temporary folder, so the old code's
    /// rename cannot hurt the real one). Needs root for mknod; other users check a directory.
    @Test func aDeviceOrDirectoryIsRefusedAndKept() throws {
        let dir = TemporaryDirectory()
        let device = dir.file("null")
        if mknod(device, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 {  // makedev(1, 3)
            #expect(throws: FormatError.self) {
                try AtomicFileWriter.write([UInt8](repeating: 1, count: 8), to: device)
            }
            var info = stat()
            #expect(lstat(device, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        }
        #expect(throws: OutputPathError.notARegularFile(path: "/dev/null", kind: "character device")) {
            try OutputPath("/dev/null")
        }
        #expect(throws: OutputPathError.notARegularFile(path: dir.path, kind: "directory")) { try OutputPath(dir.path) }
    }

    @Test func aSymlinkIsWrittenThroughToItsTarget() throws {
        let dir = TemporaryDirectory()
        let target = dir.write(Array("old".utf8), to: "target.cnnm")
        #expect(symlink("target.cnnm", dir.file("link.cnnm")) == 0)
        try AtomicFileWriter.write(Array("new".utf8), to: dir.file("link.cnnm"))
        var info = stat()
        #expect(lstat(dir.file("link.cnnm"), &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(Self.contents(target) == "new")
        // A dangling link creates its target.
        #expect(symlink("made.cnnm", dir.file("dangling.cnnm")) == 0)
        try AtomicFileWriter.write(Array("made".utf8), to: dir.file("dangling.cnnm"))
        #expect(Self.contents(dir.file("made.cnnm")) == "made")
    }

    @Test func theSameFileIsFoundByDeviceAndInode() throws {
        let dir = TemporaryDirectory()
        let input = dir.write(Array("model".utf8), to: "m.cnnm")
        #expect(symlink("m.cnnm", dir.file("link.cnnm")) == 0)
        #expect(link(input, dir.file("hard.cnnm")) == 0)
        #expect(mkdir(dir.file("sub"), 0o755) == 0)
        #expect(symlink(dir.path, dir.file("sub/up")) == 0)
        for spelling in [
            dir.file("link.cnnm"), dir.file("hard.cnnm"), dir.file("sub/up/m.cnnm"), dir.file("sub/../m.cnnm"),
        ] {
            #expect(throws: OutputPathError.wouldReplaceInput(output: spelling, input: input)) {
                try OutputPath(spelling, notReplacing: [input])
            }
        }
        _ = try OutputPath(dir.file("other.cnnm"), notReplacing: [input])
    }

    @Test func anExistingFileKeepsItsModeAndNoTemporaryFileIsLeft() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(Array("secret".utf8), to: "m.cnnm")
        #expect(chmod(path, 0o600) == 0)
        try AtomicFileWriter.write(Array("still secret".utf8), to: path)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o7777 == 0o600)
        // While a write is open its temporary file is recognisable; it goes when the writer does.
        do {
            let writer = try AtomicFileWriter(destination: path)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            #expect(names.contains { $0.hasPrefix(".m.cnnm.cnnconv-tmp-\(getpid()).") })
            _ = consume writer
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.cnnm"])
    }
}
