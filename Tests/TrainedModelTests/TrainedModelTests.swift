// The bundled trained model (fixtures/digits, made by training/train_digits.py): a small CNN
// with BatchNorm and dropout trained on scikit-learn's 8×8 digits, in two dropout conventions.
// Folding must keep every prediction; the classic variant shows that the keep factor matters;
// MC dropout is more uncertain on noise than on digits. References: the training script's own
// NumPy evaluation (test_logits*.npy) and the labels of the held-out split.
import CNNGraph
import CNNPasses
import CNNRuntime
import CNNTestSupport
import CNNVerify
import Foundation
import Testing

/// One trained variant and the test accuracy floor fixtures/digits/README.md states for it.
struct DigitsModel: CustomStringConvertible, Sendable {
    var file: String
    var logits: String
    var convention: Dropout.Convention
    var accuracyFloor: Double
    var description: String { file }

    static let inverted = DigitsModel(
        file: "digits_cnn.cnnm", logits: "test_logits.npy", convention: .inverted, accuracyFloor: 0.98)
    static let classic = DigitsModel(
        file: "digits_cnn_classic.cnnm", logits: "test_logits_classic.npy", convention: .classic, accuracyFloor: 0.98)
    static let both = [inverted, classic]

    func graph() throws -> Graph { try Graph(contentsOf: Repository.fixture("digits/" + file)) }
}

enum Digits {
    static let images = Repository.fixture("digits/test_images.npy")
    static let labelsPath = Repository.fixture("digits/test_labels.npy")

    static func testImages() throws -> NDArray<Float> { try NPY.read(images).array(as: Float.self) }

    /// The class indices of the test split, stored as NumPy int64 (what `y.astype(np.int64)`
    /// and scikit-learn give). Read here by the .npy spec directly: little-endian '<i8', C order.
    static func testLabels() throws -> [Int] {
        let bytes = readBytes(labelsPath)
        try #require(bytes.count > 10 && bytes[0] == 0x93 && Array(bytes[1..<6]) == Array("NUMPY".utf8))
        let major = bytes[6]
        let headerLength =
            major == 1
            ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let start = (major == 1 ? 10 : 12) + headerLength
        let header = String(decoding: bytes[(major == 1 ? 10 : 12)..<start], as: UTF8.self)
        try #require(header.contains("'descr': '<i8'") && header.contains("'fortran_order': False"))
        try #require((bytes.count - start) % 8 == 0)
        return stride(from: start, to: bytes.count, by: 8).map { i in
            Int(bytes[i..<i + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }

    static func argmax(_ a: NDArray<Float>) -> [Int] {
        let k = a.shape[1]
        return (0..<a.shape[0]).map { n in
            let row = a.values[(n * k)..<((n + 1) * k)]
            return row.indices.max { row[$0] < row[$1] }! - n * k
        }
    }

    static func evaluate(_ graph: Graph, _ x: NDArray<Float>) throws -> NDArray<Float> {
        try Executor<Float>(graph: graph, batch: x.shape[0]).run(x)
    }

    static func maxAbsDifference(_ a: NDArray<Float>, _ b: NDArray<Float>) -> Double {
        zip(a.values, b.values).reduce(0) { max($0, Double(abs($1.0 - $1.1))) }
    }
}

@Suite struct TrainedModelTests {
    @Test(arguments: DigitsModel.both)
    func theFixtureIsWhatTheTrainingScriptEvaluated(_ model: DigitsModel) throws {
        let graph = try model.graph()
        #expect(graph.nodes.filter { $0.op.kindName == "BatchNorm" }.count == 4)
        let dropouts = graph.nodes.compactMap { node -> Dropout? in
            if case .dropout(let d) = node.op { return d } else { return nil }
        }
        #expect(dropouts == [Dropout(rate: 0.5, convention: model.convention)])
        // The Swift executor's eval output equals NumPy's Float64 forward pass of the same
        // Float32 parameters, up to Float32 rounding.
        let ours = try Digits.evaluate(graph, try Digits.testImages())
        let numpy = try NPY.read(Repository.fixture("digits/" + model.logits)).array(as: Float.self)
        #expect(ours.shape == numpy.shape)
        #expect(Digits.maxAbsDifference(ours, numpy) < 1e-4)
        #expect(Digits.argmax(ours) == Digits.argmax(numpy))
    }

    @Test(arguments: DigitsModel.both)
    func foldingKeepsEveryPredictionAndTheAccuracy(_ model: DigitsModel) throws {
        let graph = try model.graph()
        let folded = try FoldPasses.fold(graph).graph
        #expect(!folded.nodes.contains { $0.op.kindName == "BatchNorm" || $0.op.kindName == "Dropout" })
        let x = try Digits.testImages()
        let labels = try Digits.testLabels()
        try #require(labels.count == x.shape[0])
        let before = Digits.argmax(try Digits.evaluate(graph, x))
        let after = Digits.argmax(try Digits.evaluate(folded, x))
        let changed = before.indices.filter { before[$0] != after[$0] }
        #expect(changed.isEmpty, "samples whose predicted class changed: \(changed)")
        for predictions in [before, after] {
            let accuracy = Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
            #expect(accuracy >= model.accuracyFloor, "top-1 \(accuracy) below the stated \(model.accuracyFloor)")
        }

        var options = VerifyOptions()
        options.inputs = [graph.inputs[0].name: x]
        options.labels = labels
        let report = try Verifier.verify(reference: graph, candidate: folded, options: options)
        #expect(report.passed)
        #expect(report.accuracy?.changedPredictions == 0)
        #expect(report.accuracy?.referenceCorrect == report.accuracy?.candidateCorrect)
    }

    /// Classic dropout's inference rule multiplies fc2's input by keep = 0.5; the fold puts that
    /// factor into fc2's weights. Folding it as if it were inverted (dropped, no scaling) leaves
    /// fc2's weights twice too large: logits' = W·h + b instead of ½W·h + b, so the error is
    /// exactly (logits − b), the part of each logit that came through the weights.
    @Test func classicDropoutFoldNeedsTheKeepFactor() throws {
        let graph = try DigitsModel.classic.graph()
        let x = try Digits.testImages()
        let reference = try Digits.evaluate(graph, x)

        let folded = try FoldPasses.fold(graph).graph
        #expect(Digits.maxAbsDifference(try Digits.evaluate(folded, x), reference) < 1e-4)

        var mislabeled = graph
        let index = try #require(mislabeled.nodes.firstIndex { $0.op.kindName == "Dropout" })
        guard case .dropout(var d) = mislabeled.nodes[index].op else { Issue.record("not a dropout"); return }
        d.convention = .inverted
        mislabeled.nodes[index].op = .dropout(d)
        let wrong = try FoldPasses.fold(mislabeled).graph
        let wrongOut = try Digits.evaluate(wrong, x)

        guard case .linear(let fc2)? = graph.node(named: "fc2")?.op, let bias = fc2.bias?.array else {
            Issue.record("fc2 is not a Linear with a bias"); return
        }
        let k = bias.count
        var worst = 0.0, largestWeightPart = 0.0
        for (i, (w, r)) in zip(wrongOut.values, reference.values).enumerated() {
            let throughWeights = Double(r) - Double(bias[i % k])
            worst = max(worst, abs(Double(w - r) - throughWeights))
            largestWeightPart = max(largestWeightPart, abs(throughWeights))
        }
        #expect(worst < 1e-3, "wrong fold's error differs from (logits − bias) by \(worst)")
        #expect(largestWeightPart > 1)

        var options = VerifyOptions()
        options.inputs = [graph.inputs[0].name: x]
        options.errorBudget = false
        #expect(try Verifier.verify(reference: graph, candidate: folded, options: options).passed)
        #expect(try !Verifier.verify(reference: graph, candidate: wrong, options: options).passed)
    }

    /// Predictive entropy of MC dropout's mean softmax: pure noise (uniform pixels in [0, 1),
    /// the digits' range) is less certain than held-out digits.
    @Test(arguments: DigitsModel.both)
    func monteCarloDropoutIsLessCertainOnNoise(_ model: DigitsModel) throws {
        var graph = try model.graph()
        let logits = graph.outputs[0].name
        graph.nodes.append(
            Node(name: "probabilities", op: .softmax(axis: 1), inputs: [logits], outputs: ["probabilities"]))
        graph.outputs = [ValueInfo(name: "probabilities", shape: [.symbol("N"), .fixed(10)])]

        let digits = try Digits.testImages()
        var state: UInt64 = 0x5EED
        let noise = NDArray<Float>(
            shape: [200, 1, 8, 8],
            values: (0..<(200 * 64)).map { _ in
                state &+= 0x9E37_79B9_7F4A_7C15  // SplitMix64
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return Float(Double((z ^ (z >> 31)) >> 11) * 0x1p-53)
            })

        func meanEntropy(_ x: NDArray<Float>) throws -> Double {
            let executor = try Executor<Float>(graph: graph, batch: x.shape[0])
            let result = try executor.monteCarloDropout([graph.inputs[0].name: x], samples: 30, seed: 11)
            let h = try #require(result.outputs["probabilities"]?.predictiveEntropy)
            return h.values.reduce(0, +) / Double(h.count)
        }
        let onDigits = try meanEntropy(digits), onNoise = try meanEntropy(noise)
        #expect(onNoise > 2 * onDigits, "mean predictive entropy: digits \(onDigits) nats, noise \(onNoise) nats")
        #expect(onDigits < log(10.0) && onNoise < log(10.0) + 1e-9)
    }

    @Test(arguments: DigitsModel.both)
    func inspectReadsTheFixture(_ model: DigitsModel) throws {
        let result = try CLI.run(["inspect", Repository.fixture("digits/" + model.file)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("checksums ok"))
    }
}
