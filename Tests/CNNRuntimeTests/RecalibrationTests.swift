// BatchNorm recalibration: exact statistics against a Float64 reference computed here by hand
// (a 1×1 conv is a per-pixel matrix product), whatever the batch split; padding of a fixed batch
// not counted; dropout off; and on the trained digits model, stale statistics cost accuracy and
// recalibration on training images brings it back (labels are the reference), fold keeps it.
import CNNGraph
import CNNPasses
import CNNRuntime
import Foundation
import Testing

@Suite("BatchNorm recalibration")
struct RecalibrationTests {
    // conv1 1×1 2→3 (bias) · bn1 · relu · dropout p=0.5 · conv2 1×1 3→2 · bn2
    static let w1: [[Double]] = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]], b1: [Double] = [0.1, -0.2, 0.3]
    static let w2: [[Double]] = [[1.0, -0.5, 0.25], [0.5, 0.75, -1.0]]
    static let gamma1: [Double] = [1.5, 0.5, 2.0], beta1: [Double] = [0.1, -0.3, 0.2]
    static let eps = 1e-5

    static func graph(batch: CNNGraph.Dimension = .symbol("N"), dropout: Dropout.Convention = .inverted) throws -> Graph
    {
        var b = GraphBuilder(name: "recal")
        var x = b.input("x", [batch, .fixed(2), .fixed(3), .fixed(3)])
        func t(_ name: String, _ shape: [Int], _ v: [Double]) -> Tensor {
            Tensor(name: name, shape: shape, values: v.map(Float.init))
        }
        x = b.add(
            "conv1",
            .conv2d(
                Conv2d(
                    weight: t("w1", [3, 2, 1, 1], w1.flatMap { $0 }), bias: t("b1", [3], b1),
                    window: Window2d(k: 1))), x)
        x = b.add(
            "bn1",
            .batchNorm(
                BatchNorm(
                    scale: t("g1", [3], gamma1), bias: t("be1", [3], beta1),
                    runningMean: t("m1", [3], [5, 5, 5]), runningVariance: t("v1", [3], [9, 9, 9]),
                    epsilon: eps)), x)
        x = b.add("relu", .activation(.relu), x)
        x = b.add("drop", .dropout(Dropout(rate: 0.5, convention: dropout)), x)
        x = b.add(
            "conv2", .conv2d(Conv2d(weight: t("w2", [2, 3, 1, 1], w2.flatMap { $0 }), window: Window2d(k: 1))), x)
        x = b.add(
            "bn2",
            .batchNorm(
                BatchNorm(
                    scale: nil, bias: nil, runningMean: t("m2", [2], [0, 0]),
                    runningVariance: t("v2", [2], [1, 1]), epsilon: eps)), x)
        b.output(x)
        return try b.build()
    }

    /// Samples × channels × 9 pixels, values from TestRandom (not the code under test).
    static func data(_ n: Int) -> NDArray<Double> {
        var r = TestRandom(21)
        return NDArray(shape: [n, 2, 3, 3], values: (0..<(n * 18)).map { _ in Double(Float(r.uniform(-2, 3))) })
    }

    /// Per-pixel 1×1 conv of [N, Cin, 9] values: [N][Cout][9].
    static func conv(_ x: [[[Double]]], _ w: [[Double]], _ b: [Double]?) -> [[[Double]]] {
        var out: [[[Double]]] = []
        for s in x {
            var sample: [[Double]] = []
            for (o, row) in w.enumerated() {
                var plane = [Double](repeating: b?[o] ?? 0, count: 9)
                for (i, weight) in row.enumerated() { for p in 0..<9 { plane[p] += weight * s[i][p] } }
                sample.append(plane)
            }
            out.append(sample)
        }
        return out
    }

    /// Mean and unbiased variance per channel, two passes in Float64.
    static func statistics(_ y: [[[Double]]]) -> (mean: [Double], variance: [Double]) {
        let channels = y[0].count
        var mean: [Double] = [], variance: [Double] = []
        for c in 0..<channels {
            let v = y.flatMap { $0[c] }
            let m: Double = v.reduce(0, +) / Double(v.count)
            mean.append(m)
            variance.append(v.reduce(0.0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1))
        }
        return (mean, variance)
    }

    static func samples(_ x: NDArray<Double>) -> [[[Double]]] {
        (0..<x.shape[0]).map { n in (0..<2).map { c in Array(x.values[(n * 18 + c * 9)..<(n * 18 + c * 9 + 9)]) } }
    }

    static func runningStatistics(_ g: Graph, _ node: String) throws -> (mean: [Double], variance: [Double]) {
        let n = try #require(g.nodes.first { $0.name == node })
        guard case .batchNorm(let bn) = n.op else { throw RuntimeError.invalidGraph("not a BatchNorm") }
        return (bn.runningMean.array.map(Double.init), bn.runningVariance.array.map(Double.init))
    }

    @Test("first BatchNorm: exact statistics over all samples for any batch split; second: the reference in one batch")
    func exactStatistics() throws {
        let x = Self.data(10)
        let h = Self.conv(Self.samples(x), Self.w1, Self.b1)
        let ref1 = Self.statistics(h)
        // bn2's input in one batch of 10: bn1 on the batch's biased statistics, ReLU, dropout off, conv2.
        let biased = ref1.variance.map { $0 * 89 / 90 }
        var normalized = h
        for n in h.indices {
            for c in 0..<3 {
                let scale = Self.gamma1[c] / (biased[c] + Self.eps).squareRoot()
                for p in 0..<9 { normalized[n][c][p] = max(0, scale * (h[n][c][p] - ref1.mean[c]) + Self.beta1[c]) }
            }
        }
        let ref2 = Self.statistics(Self.conv(normalized, Self.w2, nil))

        let graph = try Self.graph()
        var bn2ByBatch: [Int: [Double]] = [:]
        for batch in [64, 4, 3, 2] {
            var o = RecalibrationOptions()
            o.batch = batch
            o.threads = 1
            let (g, report) = try Recalibration.recalibrate(graph, inputs: ["x": x], options: o)
            // Running statistics are stored as Float32: compare within its rounding.
            let s1 = try Self.runningStatistics(g, "bn1")
            #expect(mismatch(s1.mean, ref1.mean, atol: 1e-7) == nil, "batch \(batch)")
            #expect(mismatch(s1.variance, ref1.variance, atol: 1e-7) == nil, "batch \(batch)")
            #expect(report.samples == 10 && report.paddedSamples == 0)
            #expect(g.metadata[Recalibration.samplesKey] == "10")
            let s2 = try Self.runningStatistics(g, "bn2")
            if batch == 64 {
                #expect(report.runs == 1)
                #expect(mismatch(s2.mean, ref2.mean, atol: 1e-7) == nil)
                #expect(mismatch(s2.variance, ref2.variance, atol: 1e-7) == nil)
            }
            bn2ByBatch[batch] = s2.mean + s2.variance
            let bn1 = try #require(report.batchNorms.first { $0.node == "bn1" })
            #expect(bn1.valuesPerChannel == 90 && bn1.fewValues)  // 90 < the default threshold 100
            // The shift against the old N(5, 9): computed here from the reference.
            let shifts = (0..<3).map { c -> Double in
                let so = (9 + Self.eps).squareRoot(), sn = (ref1.variance[c] + Self.eps).squareRoot()
                return ((ref1.mean[c] - 5) * (ref1.mean[c] - 5) + (sn - so) * (sn - so)).squareRoot() / so
            }
            #expect(abs(bn1.maxShift - shifts.max()!) < 1e-5)
            #expect(report.batchNorms.map { $0.maxShift } == report.batchNorms.map { $0.maxShift }.sorted(by: >))
        }
        // Downstream of a BatchNorm, the statistics depend on the split (batch-normalized inputs).
        #expect(mismatch(bn2ByBatch[3]!, bn2ByBatch[64]!, atol: 1e-9) != nil)
    }

    @Test("Float64 accumulation: the same statistics in Float64 and Float32 executors, within Float32 rounding")
    func floatExecutor() throws {
        let x = Self.data(10)
        let ref1 = Self.statistics(Self.conv(Self.samples(x), Self.w1, Self.b1))
        var o = RecalibrationOptions()
        o.batch = 3
        let (g, _) = try Recalibration.recalibrate(
            try Self.graph(), inputs: ["x": x.converted(to: Float.self)], options: o)
        let s1 = try Self.runningStatistics(g, "bn1")
        #expect(mismatch(s1.mean, ref1.mean, atol: 1e-6) == nil)
        #expect(mismatch(s1.variance, ref1.variance, atol: 1e-6) == nil)
    }

    @Test("a fixed batch: the padding of the last run is not counted; classic dropout is ×keep, not sampled")
    func fixedBatchPadding() throws {
        let x = Self.data(10)
        let ref1 = Self.statistics(Self.conv(Self.samples(x), Self.w1, Self.b1))
        let (g, report) = try Recalibration.recalibrate(try Self.graph(batch: .fixed(4)), inputs: ["x": x])
        #expect(report.runs == 3 && report.runBatch == 4 && report.paddedSamples == 2)
        let s1 = try Self.runningStatistics(g, "bn1")
        #expect(mismatch(s1.mean, ref1.mean, atol: 1e-7) == nil)
        #expect(mismatch(s1.variance, ref1.variance, atol: 1e-7) == nil)
        let bn = try #require(g.nodes.first { $0.name == "bn1" })
        if case .batchNorm(let b) = bn.op { #expect(b.numBatchesTracked == 3) }
        // Dropout is deterministic here: two recalibrations agree bit for bit, and classic
        // dropout's ×0.5 halves bn2's mean relative to inverted dropout's identity (conv2 has no bias).
        let inv = try Recalibration.recalibrate(try Self.graph(), inputs: ["x": x]).graph
        #expect(try Recalibration.recalibrate(try Self.graph(), inputs: ["x": x]).graph == inv)
        let classic = try Recalibration.recalibrate(try Self.graph(dropout: .classic), inputs: ["x": x]).graph
        let mi = try Self.runningStatistics(inv, "bn2").mean, mc = try Self.runningStatistics(classic, "bn2").mean
        #expect(mismatch(mc, mi.map { $0 * 0.5 }, atol: 1e-6) == nil)
    }

    @Test("Chan's merge of parts equals the moments of the whole")
    func momentsMerge() throws {
        var r = TestRandom(5)
        let values = (0..<1000).map { _ in r.uniform(-1, 1) * 1000 + 1e6 }
        var merged = ChannelMoments(count: 0, mean: [0], m2: [0])
        var start = 0
        for size in [1, 7, 300, 2, 690] {
            let part = Array(values[start..<(start + size)])
            let m: Double = part.reduce(0, +) / Double(size)
            merged.merge(ChannelMoments(count: size, mean: [m], m2: [part.reduce(0.0) { $0 + ($1 - m) * ($1 - m) }]))
            start += size
        }
        let mean: Double = values.reduce(0, +) / 1000
        let variance: Double = values.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / 999
        #expect(merged.count == 1000)
        #expect(abs(merged.mean[0] - mean) / mean < 1e-14)
        #expect(abs(merged.unbiasedVariance![0] - variance) / variance < 1e-10)
    }

    @Test("a graph without BatchNorm is refused")
    func noBatchNorm() throws {
        let g = try chain([2, 3], [("relu", .activation(.relu))])
        #expect(throws: RuntimeError.self) {
            try Recalibration.recalibrate(g, inputs: ["x": NDArray<Float>(shape: [2, 3])])
        }
    }
}

/// The trained digits model: statistics made stale on purpose, then recalibrated.
@Suite("BatchNorm recalibration on the digits model")
struct DigitsRecalibrationTests {
    static func npy(_ name: String) throws -> NDArray<Float> {
        try NPY.read(Repository.fixture("digits/" + name)).array(as: Float.self)
    }

    static func accuracy(_ g: Graph, _ x: NDArray<Float>, _ labels: [Int]) throws -> (Double, [Int]) {
        let batching = try SampleBatching(graph: g, samples: x.shape[0], preferredBatch: x.shape[0])
        let e = try Executor<Float>(graph: g, batch: batching.runBatch)
        let y = try #require(try e.run(samples: [g.inputs[0].name: x], batching: batching).values.first)
        let k = y.shape[1]
        let predicted = (0..<y.shape[0]).map { n in (0..<k).max { y.values[n * k + $0] < y.values[n * k + $1] }! }
        return (Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count), predicted)
    }

    @Test func staleStatisticsAreFixed() throws {
        let graph = try Graph(contentsOf: Repository.fixture("digits/digits_cnn.cnnm"))
        let test = try Self.npy("test_images.npy")
        let labels = try Self.npy("test_labels.npy").values.map { Int($0) }
        let calib = try Self.npy("calib_images.npy")
        #expect(calib.shape == [1000, 1, 8, 8])
        let (original, _) = try Self.accuracy(graph, test, labels)

        // Stale: statistics tracked on brighter, higher-contrast images (pixels ×2 + 0.5).
        let shifted = NDArray(shape: calib.shape, values: calib.values.map { $0 * 2 + 0.5 })
        let stale = try Recalibration.recalibrate(graph, inputs: [graph.inputs[0].name: shifted]).graph
        let (staleAccuracy, _) = try Self.accuracy(stale, test, labels)
        #expect(staleAccuracy < original - 0.05, "stale \(staleAccuracy) vs original \(original)")

        let (fixed, report) = try Recalibration.recalibrate(stale, inputs: [graph.inputs[0].name: calib])
        let (fixedAccuracy, predicted) = try Self.accuracy(fixed, test, labels)
        #expect(abs(fixedAccuracy - original) <= 0.005, "recalibrated \(fixedAccuracy) vs original \(original)")
        #expect(report.batchNorms.count == 4 && report.batchNorms.allSatisfy { $0.maxShift > 0.1 })

        let folded = try FoldPasses.fold(fixed).graph
        #expect(!folded.nodes.contains { if case .batchNorm = $0.op { return true } else { return false } })
        let (_, foldedPredicted) = try Self.accuracy(folded, test, labels)
        #expect(foldedPredicted == predicted)
    }
}
