// MC dropout uncertainty of a classifier: scores and the rejection curve on a hand-worked example;
// predictive mean, entropies and mutual information of logits against the exact expectation over
// every dropout mask (enumerated here); the .npz container read back by the zip layout.
import CNNGraph
import CNNRuntime
import Foundation
import Testing

@Suite("MC dropout uncertainty")
struct UncertaintyTests {
    static let p = NDArray<Double>(shape: [4, 2], values: [0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.2, 0.8])
    static let labels = [0, 1, 1, 1]

    @Test func scoresByHand() {
        let s = Uncertainty.scores(Self.p, labels: Self.labels, bins: 4)
        // Predictions 0, 0, 1, 1: sample 1 is wrong.
        #expect(s.accuracy == 0.75)
        #expect(abs(s.negativeLogLikelihood - -(log(0.9) + log(0.4) + log(0.7) + log(0.8)) / 4) < 1e-15)
        // Bins of width 1/4: (0.5, 0.75] holds 0.6 (wrong) and 0.7 (right): confidence 0.65, accuracy 0.5;
        // (0.75, 1] holds 0.9 and 0.8 (both right): confidence 0.85, accuracy 1. ECE = ½·0.15 + ½·0.15.
        #expect(abs(s.expectedCalibrationError - 0.15) < 1e-12)
        #expect(s.reliability.map(\.count) == [0, 0, 2, 2])
        #expect(abs(s.reliability[2].confidence - 0.65) < 1e-12 && s.reliability[2].accuracy == 0.5)
    }

    @Test func rejectionCurveByHand() {
        let curve = Uncertainty.rejectionCurve(
            Self.p, uncertainty: [0.1, 0.9, 0.2, 0.3], labels: Self.labels, percents: [0, 25, 50])
        #expect(curve.map(\.kept) == [4, 3, 2])
        #expect(curve.map(\.accuracy) == [0.75, 1, 1])
        #expect(Uncertainty.rejectionPercents == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50])
    }

    @Test func labelsAreChecked() throws {
        #expect(try Uncertainty.labels([0, 1, 2], samples: 3, classes: 3) == [0, 1, 2])
        #expect(throws: RuntimeError.self) { try Uncertainty.labels([0, 1], samples: 3, classes: 3) }
        #expect(throws: RuntimeError.self) { try Uncertainty.labels([0, 1.5, 2], samples: 3, classes: 3) }
        #expect(throws: RuntimeError.self) { try Uncertainty.labels([0, 1, 3], samples: 3, classes: 3) }
    }

    /// x (2 features) · inverted dropout p = ½ · linear 2→3: four equally likely masks per sample.
    @Test func logitsAgainstEveryMask() throws {
        // Exact in Float32, as stored.
        let w: [[Double]] = [[1, -2], [0.5, 1.5], [-1, 0.25]], bias: [Double] = [0.25, 0, -0.125]
        var b = GraphBuilder(name: "mc")
        var x = b.input("x", [.symbol("N"), .fixed(2)])
        x = b.add("drop", .dropout(Dropout(rate: 0.5)), x)
        x = b.add(
            "fc",
            .linear(
                Linear(
                    weight: Tensor(name: "w", shape: [3, 2], values: w.flatMap { $0 }.map(Float.init)),
                    bias: Tensor(name: "b", shape: [3], values: bias.map(Float.init)))), x)
        b.output(x)
        let graph = try b.build()
        let input = NDArray<Double>(shape: [2, 2], values: [1, 0.5, -0.5, 2])
        #expect(Uncertainty.looksLikeLogits(graph, output: "fc", shape: [2, 3]))

        func softmax(_ z: [Double]) -> [Double] {
            let m = z.max()!, e = z.map { exp($0 - m) }, s = e.reduce(0, +); return e.map { $0 / s }
        }
        func entropy(_ q: [Double]) -> Double { var h = 0.0; for v in q where v > 0 { h -= v * log(v) }; return h }
        let passes = 4000
        let exec = try Executor<Double>(graph: graph, batch: 2)
        let mc = try exec.monteCarloDropout(["x": input], samples: passes, seed: 3, logits: ["fc"])
        let out = try #require(mc.outputs["fc"])
        let eval = try exec.run(["x": input]).outputs["fc"]!
        let u = try Uncertainty.classifier(out, passes: passes, meanNet: try Uncertainty.softmax(eval))
        for n in 0..<2 {
            let xs = [input.values[2 * n], input.values[2 * n + 1]]
            var probabilities: [[Double]] = []
            for mask in [[0.0, 0], [0, 2], [2, 0], [2, 2]] {  // kept units scaled by 1/keep = 2
                probabilities.append(
                    softmax((0..<3).map { k in bias[k] + w[k][0] * xs[0] * mask[0] + w[k][1] * xs[1] * mask[1] }))
            }
            var mean = [Double](repeating: 0, count: 3), variance = [Double](repeating: 0, count: 3)
            for q in probabilities { for k in 0..<3 { mean[k] += q[k] / 4 } }
            for q in probabilities { for k in 0..<3 { variance[k] += (q[k] - mean[k]) * (q[k] - mean[k]) / 4 } }
            let expected: Double = probabilities.map(entropy).reduce(0, +) / 4
            // 4000 passes: the standard error of each mean probability is below 0.5/√4000 ≈ 0.008.
            #expect(mismatch(Array(u.predictiveMean.values[(3 * n)..<(3 * n + 3)]), mean, atol: 0.03) == nil)
            #expect(mismatch(Array(u.classVariance.values[(3 * n)..<(3 * n + 3)]), variance, atol: 0.02) == nil)
            #expect(abs(u.predictiveEntropy[n] - entropy(mean)) < 0.03)
            #expect(abs(u.expectedEntropy[n] - expected) < 0.03)
            #expect(abs(u.mutualInformation[n] - (entropy(mean) - expected)) < 0.03)
            // The mean net: all units, no scaling (inverted dropout at inference).
            let meanNet = softmax((0..<3).map { k in bias[k] + w[k][0] * xs[0] + w[k][1] * xs[1] })
            #expect(mismatch(Array(u.meanNet!.values[(3 * n)..<(3 * n + 3)]), meanNet, atol: 1e-12) == nil)
        }
        // The predictive means are distributions.
        for n in 0..<2 { #expect(abs(u.predictiveMean.values[(3 * n)..<(3 * n + 3)].reduce(0, +) - 1) < 1e-12) }
        #expect(throws: RuntimeError.self) { try exec.monteCarloDropout(["x": input], samples: 2, logits: ["nope"]) }
    }

    @Test func npzIsAZipOfNpyFiles() throws {
        let a = NPYArray(NDArray<Double>(shape: [2], values: [1, 2])),
            c = NPYArray(NDArray<Float>(shape: [1, 3], values: [3, 4, 5]))
        let bytes = try NPZ.encode([("a", a), ("bee", c)])
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        // End of central directory (APPNOTE 4.3.16): the last 22 bytes, two entries.
        let end = bytes.count - 22
        #expect(u32(end) == 0x0605_4B50 && u16(end + 10) == 2)
        var entry = u32(end + 16)
        var found: [String: NPYArray] = [:]
        for _ in 0..<2 {
            #expect(u32(entry) == 0x0201_4B50)
            let size = u32(entry + 20), nameLength = u16(entry + 28), local = u32(entry + 42)
            let name = String(decoding: bytes[(entry + 46)..<(entry + 46 + nameLength)], as: UTF8.self)
            #expect(u32(local) == 0x0403_4B50 && u16(local + 8) == 0)  // stored
            let start = local + 30 + u16(local + 26)
            found[name] = try NPY.decode(Array(bytes[start..<(start + size)]))
            entry += 46 + nameLength
        }
        #expect(found == ["a.npy": a, "bee.npy": c])
    }
}
