// `cnnconv fold` over an existing output: the replaced file is freed by a short-lived child after
// the command has reported (ReplacedFiles). The written bytes, the report and the directory must
// be exactly those of a fold to a new path; a child that flushed the parent's buffered stdout
// again (exit instead of _exit) would print the report twice.
import CNNTestSupport
import Foundation
import Testing

@Suite struct ReplaceOutputCLITests {
    @Test func replacingAnOutputWritesTheSameBytesAndReportsOnce() throws {
        let tmp = TemporaryDirectory()
        let model = tmp.write(readBytes(Repository.fixture("resnet_mini.cnnm")), to: "model.cnnm")
        let output = tmp.file("out.cnnm")
        let fresh = try CLI.run(["fold", model, "-o", output, "--no-verify", "--json"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        let expected = readBytes(output)
        #expect(expected.count > 1000)
        for _ in 0..<2 {
            let again = try CLI.run(["fold", model, "-o", output, "--no-verify", "--json"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout == fresh.stdout)
            #expect(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) is [String: Any])
            #expect(readBytes(output) == expected)
            let files = try FileManager.default.contentsOfDirectory(atPath: tmp.path).sorted()
            #expect(files == ["model.cnnm", "out.cnnm"])
        }
        // --in-place replaces the input, which the command has mapped.
        let inPlace = try CLI.run(["fold", model, "--in-place", "--no-verify"])
        #expect(inPlace.status == 0, "\(inPlace.stderr)")
        #expect(readBytes(model) == expected)
    }
}
