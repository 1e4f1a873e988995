// `cnnconv verify --per-layer --plot`: the SVG parses as XML and carries the per-layer errors
// of the JSON report, on a log scale, with the first divergence marked when there is one.
import CNNTestSupport
import Foundation
import Testing

@Suite struct VerifyPlotCLITests {
    static let model = Repository.fixture("digits/digits_cnn.cnnm")
    static let images = Repository.fixture("digits/test_images.npy")

    @Test func perLayerPlot() throws {
        let tmp = TemporaryDirectory()
        let folded = tmp.file("f.cnnm"), plot = tmp.file("v.svg")
        #expect(try CLI.run(["fold", Self.model, "-o", folded]).status == 0)
        let r = try CLI.run([
            "verify", Self.model, folded, "--inputs", Self.images, "--per-layer", "--plot", plot, "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        let svg = try #require(SVGSeriesReader.read(plot), "the plot is not well-formed XML")
        #expect(svg.rootIsSVG && svg.markers.isEmpty)
        // Every layer with a non-zero error is a point (the input image is compared exactly: 0).
        let nonZero = layers.compactMap { $0["maxAbsError"] as? Double }.filter { $0 > 0 }
        let maxSeries = try #require(svg.series["max |candidate − reference| (f32)"])
        #expect(maxSeries.count == nonZero.count && !nonZero.isEmpty)
        for (point, value) in zip(maxSeries.map(\.y), nonZero) { #expect(abs(point - value) <= 1e-12 * value) }
        #expect(svg.series["allowed max error"]?.count == layers.count)
        #expect(svg.series["f32 budget: reference max error vs f64"] != nil)

        // Two different trained models: verification fails at the first conv, marked on the plot.
        let bad = tmp.file("bad.svg")
        let other = try CLI.run([
            "verify", Self.model, Repository.fixture("digits/digits_cnn_classic.cnnm"), "--inputs", Self.images,
            "--per-layer", "--plot", bad,
        ])
        #expect(other.status == 1)
        let badSVG = try #require(SVGSeriesReader.read(bad))
        #expect(badSVG.markers.count == 1 && badSVG.markers[0].hasPrefix("first divergence: "))
        #expect(try CLI.run(["verify", Self.model, folded, "--plot", plot]).status == 2)
    }
}
