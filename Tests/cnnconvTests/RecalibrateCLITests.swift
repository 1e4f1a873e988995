// `cnnconv recalibrate` as a user runs it: a new file next to an untouched input, a report per
// BatchNorm (table and JSON), the metadata `inspect` shows, the shift plot, and refusals.
import CNNTestSupport
import Foundation
import Testing

@Suite struct RecalibrateCLITests {
    static let model = Repository.fixture("digits/digits_cnn.cnnm")
    static let calib = Repository.fixture("digits/calib_images.npy")

    @Test func writesANewModelAndReports() throws {
        let tmp = TemporaryDirectory()
        let before = readBytes(Self.model)
        let out = tmp.file("r.cnnm"), plot = tmp.file("shift.svg")
        let r = try CLI.run([
            "recalibrate", Self.model, "--inputs", Self.calib, "-o", out, "--batch", "100", "--plot", plot, "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(readBytes(Self.model) == before)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let report = try #require(json["report"] as? [String: Any])
        #expect(report["samples"] as? Int == 1000)
        #expect(report["runs"] as? Int == 10)
        let bns = try #require(report["batchNorms"] as? [[String: Any]])
        #expect(Set(bns.compactMap { $0["node"] as? String }) == ["bn1", "bn2", "bn3", "bn4"])
        // bn1 sees 1000 images × 64 pixels per channel; bn4 (after the global pool) 1000 values.
        #expect(bns.first { $0["node"] as? String == "bn1" }?["valuesPerChannel"] as? Int == 64_000)
        #expect(bns.first { $0["node"] as? String == "bn4" }?["valuesPerChannel"] as? Int == 1000)

        let inspect = try CLI.run(["inspect", out])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("recalibrated on 1000 samples"))
        #expect(!(try CLI.run(["inspect", Self.model])).stdout.contains("recalibrated"))

        let svg = try #require(SVGSeriesReader.read(plot), "the plot is not well-formed XML")
        #expect(svg.rootIsSVG)
        let maxShift = try #require(svg.series["max shift"])
        #expect(maxShift.count == 4)
        // The bars carry the report's numbers, largest first.
        let reported = bns.compactMap { $0["maxShift"] as? Double }
        #expect(reported.count == 4)
        for (bar, value) in zip(maxShift.map(\.y), reported) { #expect(abs(bar - value) <= 1e-12 * value) }
        #expect(svg.series["mean shift"]?.count == 4)

        let text = try CLI.run([
            "recalibrate", Self.model, "--inputs", Self.calib, "-o", tmp.file("t.cnnm"), "--min-values", "2000",
        ])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("max shift"))
        #expect(text.stdout.contains("bn4 saw fewer than 2000 values per channel"))
    }

    @Test func refusals() throws {
        let tmp = TemporaryDirectory()
        #expect(try CLI.run(["recalibrate", Self.model, "--inputs", Self.calib, "-o", Self.model]).status == 2)
        #expect(try CLI.run(["recalibrate", Self.model]).status == 2)
        let text = tmp.write(Array("not numpy".utf8), to: "x.npy")
        let bad = try CLI.run(["recalibrate", Self.model, "--inputs", text, "-o", tmp.file("o.cnnm")])
        #expect(bad.status == 3 && bad.stderr.contains("x.npy"))
        // A folded model has no BatchNorm left.
        let folded = tmp.file("f.cnnm")
        #expect(try CLI.run(["fold", Self.model, "-o", folded]).status == 0)
        let none = try CLI.run(["recalibrate", folded, "--inputs", Self.calib, "-o", tmp.file("o.cnnm")])
        #expect(none.status == 3 && none.stderr.contains("no BatchNorm"))
        #expect(!FileManager.default.fileExists(atPath: tmp.file("o.cnnm")))
    }
}
