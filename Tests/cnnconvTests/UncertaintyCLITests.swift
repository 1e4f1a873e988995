// `cnnconv run --mc-dropout N` on the trained digits model as a user runs it: uncertainty per
// sample and in aggregate, scored against the labels beside the mean net, the rejection curve and
// reliability plot (parsed as XML), --uncertainty-out; noise and rotated digits more uncertain.
import CNNTestSupport
import Foundation
import Testing

@Suite struct UncertaintyCLITests {
    static let model = Repository.fixture("digits/digits_cnn.cnnm")
    static let images = Repository.fixture("digits/test_images.npy")
    static let labels = Repository.fixture("digits/test_labels.npy")

    static func json(_ r: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    static func uncertainty(_ json: [String: Any]) throws -> [String: Any] {
        let mc = try #require(json["mcDropout"] as? [String: Any])
        let out = try #require((mc["outputs"] as? [[String: Any]])?.first)
        return try #require(out["uncertainty"] as? [String: Any])
    }

    /// A float32 .npy of `values` with `shape`, written by the spec (not by the code under test).
    static func writeNPY(_ values: [Float], shape: [Int], to path: String) {
        var header =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] =
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    @Test func scoresPlotsAndWritesTheUncertainty() throws {
        let tmp = TemporaryDirectory()
        let plot = tmp.file("u.svg"), folder = tmp.file("u")
        let r = try CLI.run([
            "run", Self.model, "--input", Self.images, "--mc-dropout", "20", "--seed", "1", "--labels", Self.labels,
            "--plot", plot, "--uncertainty-out", folder, "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let u = try Self.uncertainty(try Self.json(r))
        #expect(u["probabilitiesFrom"] as? String == "softmax of logits")
        let h = try #require(u["predictiveEntropy"] as? [Double]), e = try #require(u["expectedEntropy"] as? [Double])
        let mi = try #require(u["mutualInformation"] as? [Double])
        #expect(h.count == 359 && e.count == 359 && mi.count == 359)
        // H[p̄] = E[H] + MI, MI ≥ 0, and entropies of 10 classes are at most ln 10.
        for i in 0..<359 {
            #expect(abs(h[i] - e[i] - mi[i]) < 1e-9 && mi[i] >= 0 && h[i] <= log(10) + 1e-9)
        }
        let evaluation = try #require(u["evaluation"] as? [String: Any])
        let mcScores = try #require(evaluation["monteCarlo"] as? [String: Any])
        let meanNet = try #require(evaluation["meanNet"] as? [String: Any])
        // fixtures/digits/README.md: both variants above 98 % on the test split.
        #expect((mcScores["accuracy"] as? Double ?? 0) >= 0.98)
        #expect((meanNet["accuracy"] as? Double ?? 0) >= 0.98)
        for s in [mcScores, meanNet] {
            #expect(
                (s["negativeLogLikelihood"] as? Double ?? -1) > 0
                    && (s["expectedCalibrationError"] as? Double ?? -1) >= 0)
        }
        let rejection = try #require(evaluation["rejection"] as? [[String: Any]])
        #expect(rejection.compactMap { $0["rejectedPercent"] as? Int } == Array(stride(from: 0, through: 50, by: 5)))
        let accuracies = rejection.compactMap { $0["accuracy"] as? Double }
        #expect(accuracies.last! >= accuracies.first!)
        #expect(rejection.last?["kept"] as? Int == 359 - 359 * 50 / 100)

        let svg = try #require(SVGSeriesReader.read(plot), "the plot is not well-formed XML")
        #expect(svg.rootIsSVG && svg.chartTitles.count == 2)
        let curve = try #require(svg.series.first { $0.key.hasPrefix("MC dropout, 20 passes") }?.value)
        #expect(curve.map(\.x) == Array(stride(from: 0.0, through: 50, by: 5)))
        for (point, value) in zip(curve.map(\.y), accuracies) { #expect(abs(point - value) < 1e-12) }
        #expect(svg.series["mean net (softmax entropy)"]?.count == 11)
        #expect(svg.series.keys.contains { $0.hasPrefix("MC dropout (ECE") })
        #expect(svg.series["perfect calibration"]?.count == 2)

        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(
            files == [
                "class_variance.npy", "expected_entropy.npy", "mean_net_probabilities.npy", "mutual_information.npy",
                "predictive_entropy.npy", "predictive_mean.npy",
            ])
        #expect(readBytes(folder + "/predictive_entropy.npy").count == 128 + 359 * 8)  // float64
        // .npz: a zip archive.
        let npz = tmp.file("u.npz")
        let z = try CLI.run(["run", Self.model, "--input", Self.images, "--mc-dropout", "3", "--uncertainty-out", npz])
        #expect(z.status == 0, "\(z.stderr)")
        #expect(Array(readBytes(npz).prefix(4)) == [0x50, 0x4B, 0x03, 0x04])
    }

    @Test func noiseAndRotatedDigitsAreMoreUncertain() throws {
        let tmp = TemporaryDirectory()
        var random = TestRandom(8)
        let noise = tmp.file("noise.npy"), rotated = tmp.file("rotated.npy")
        Self.writeNPY((0..<(200 * 64)).map { _ in Float(random.uniform(0, 1)) }, shape: [200, 1, 8, 8], to: noise)
        // The test digits turned a quarter turn: pixel (r, c) of the new image is (7 − c, r) of the old.
        let bytes = readBytes(Self.images)
        let start = bytes.count - 359 * 64 * 4
        let pixels = stride(from: start, to: bytes.count, by: 4).map { i in
            Float(
                bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(
                    bytes[i + 3]) << 24)
        }
        var turned = [Float](repeating: 0, count: pixels.count)
        for n in 0..<359 {
            for r in 0..<8 { for c in 0..<8 { turned[n * 64 + r * 8 + c] = pixels[n * 64 + (7 - c) * 8 + r] } }
        }
        Self.writeNPY(turned, shape: [359, 1, 8, 8], to: rotated)
        func meanUncertainty(_ input: String) throws -> (Double, Double) {
            let r = try CLI.run(["run", Self.model, "--input", input, "--mc-dropout", "20", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let u = try Self.uncertainty(try Self.json(r))
            return (u["meanPredictiveEntropy"] as? Double ?? .nan, u["meanMutualInformation"] as? Double ?? .nan)
        }
        let digits = try meanUncertainty(Self.images), onNoise = try meanUncertainty(noise),
            onRotated = try meanUncertainty(rotated)
        #expect(onNoise.0 > 2 * digits.0 && onNoise.1 > 2 * digits.1, "noise \(onNoise) vs digits \(digits)")
        #expect(onRotated.0 > 2 * digits.0 && onRotated.1 > 2 * digits.1, "rotated \(onRotated) vs digits \(digits)")
    }

    @Test func refusals() throws {
        #expect(try CLI.run(["run", Self.model, "--labels", Self.labels]).status == 2)
        #expect(try CLI.run(["run", Self.model, "--mc-dropout", "3", "--plot", "/tmp/x.svg"]).status == 2)
        // 359 labels for a random input of one sample.
        let r = try CLI.run(["run", Self.model, "--mc-dropout", "3", "--labels", Self.labels])
        #expect(r.status == 2 && r.stderr.contains("359 labels for 1 samples"))
    }
}
