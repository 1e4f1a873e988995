// `cnnconv fold` over an existing output: the replaced file is freed by a short-lived child after
// the command has reported (ReplacedFiles). The written bytes, the report and the directory must
// be exactly those of a fold to a new path, and the child must be gone soon after (it keeps the
// parent's command line, which names this test's temporary folder).
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
        #expect(Self.processesNaming(tmp.path, within: 10) == 0)
        // --in-place replaces the input, which the command has mapped.
        let inPlace = try CLI.run(["fold", model, "--in-place", "--no-verify"])
        #expect(inPlace.status == 0, "\(inPlace.stderr)")
        #expect(readBytes(model) == expected)
        #expect(Self.processesNaming(tmp.path, within: 10) == 0)
    }

    /// How many processes still have `text` in their command line after waiting up to `seconds`
    /// for there to be none.
    static func processesNaming(_ text: String, within seconds: Double) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let count = pids.filter { pid in
                guard pid.allSatisfy(\.isNumber) else { return false }
                let bytes = readBytes("/proc/\(pid)/cmdline").map { $0 == 0 ? UInt8(ascii: " ") : $0 }
                return String(decoding: bytes, as: UTF8.self).contains(text)
            }.count
            if count == 0 || Date() > deadline { return count }
            usleep(20_000)
        }
    }
}
