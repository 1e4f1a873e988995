// `cnnconv run` as a user runs it: random or .npy input, outputs written as .npy, MC dropout.
import CNNTestSupport
import Foundation
import Testing

@Suite struct RunCLITests {
    @Test func runOnARandomInputSavesInputAndOutput() throws {
        let tmp = TemporaryDirectory()
        let model = Repository.fixture("small_cnn.cnnm")
        let r = try CLI.run([
            "run", model, "--save-input", tmp.file("x.npy"), "--output", tmp.file("y.npy"), "--repeat", "3", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let latency = try #require(json["latencyMs"] as? [String: Any])
        #expect(latency["min"] is Double && latency["median"] is Double)
        // Running again on the saved input reproduces the saved output bit for bit.
        let again = try CLI.run(["run", model, "--input", tmp.file("x.npy"), "--output", tmp.file("y2.npy")])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(readBytes(tmp.file("y.npy")) == readBytes(tmp.file("y2.npy")))
        #expect(readBytes(tmp.file("y.npy")).count == 128 + 10 * 4)
    }

    @Test func monteCarloDropoutReportsSpread() throws {
        let r = try CLI.run([
            "run", Repository.fixture("digits/digits_cnn.cnnm"), "--mc-dropout", "10", "--seed", "3", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let mc = try #require(json["mcDropout"] as? [String: Any])
        #expect(mc["samples"] as? Int == 10)
    }

    @Test func badInputsAreRefused() throws {
        let tmp = TemporaryDirectory()
        let text = tmp.write(Array("not numpy".utf8), to: "x.npy")
        let r = try CLI.run(["run", Repository.fixture("small_cnn.cnnm"), "--input", text])
        #expect(r.status == 3)
        #expect(r.stderr.hasPrefix("cnnconv: ") && r.stderr.contains("x.npy"))
        #expect(try CLI.run(["run", Repository.fixture("small_cnn.cnnm"), "--mode", "sideways"]).status == 2)
    }
}
