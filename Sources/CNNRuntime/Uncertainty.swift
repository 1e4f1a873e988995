// What Monte Carlo dropout says about a classifier's uncertainty, and how good its predictive
// distribution is next to the deterministic "mean net" (eval mode: weight scaling) — the lecture
// notes' two answers to "what do we do at test time", compared on labelled data.
//
// Per sample: the predictive mean p̄ = (1/T)Σ p_t of the T passes' class probabilities, the
// per-class variance, the predictive entropy H[p̄], the expected entropy (1/T)Σ H[p_t] and their
// difference, the mutual information between prediction and weights (BALD, Houlsby et al. 2011;
// Gal & Ghahramani 2016). With labels: accuracy, negative log-likelihood, expected calibration
// error (equal-width confidence bins, Guo et al. 2017), and a rejection curve.
import CNNGraph
import CNNKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The per-sample uncertainty of one classifier output over N samples and K classes.
public struct ClassifierUncertainty: Sendable, Equatable {
    /// The graph output (classifier logits or probabilities) this is about.
    public var output: String
    /// The number T of Monte Carlo passes averaged.
    public var passes: Int
    /// [N, K]: mean of the passes' probabilities.
    public var predictiveMean: NDArray<Double>
    /// [N, K]: population variance of each class probability over the passes.
    public var classVariance: NDArray<Double>
    /// [N], nats.
    public var predictiveEntropy: [Double]
    /// [N], nats: (1/T)Σ H[p_t], the aleatoric part of the predictive entropy.
    public var expectedEntropy: [Double]
    /// [N], nats: predictive minus expected entropy (BALD), the epistemic part: high where the
    /// passes disagree.
    public var mutualInformation: [Double]
    /// [N, K]: the deterministic eval-mode ("mean net") probabilities, when given.
    public var meanNet: NDArray<Double>?

    /// N, the number of samples.
    public var samples: Int { predictiveMean.shape[0] }
    /// K, the number of classes.
    public var classes: Int { predictiveMean.shape[1] }
}

/// One equal-width confidence bin of a reliability diagram.
public struct ReliabilityBin: Sendable, Codable, Equatable {
    /// The bin's bounds on the top-1 probability.
    public var lower: Double, upper: Double
    /// Samples whose top-1 probability falls in the bin.
    public var count: Int
    /// Mean top-1 probability and top-1 accuracy of the samples in the bin (0 when empty).
    public var confidence: Double, accuracy: Double
}

/// How good a predictive distribution is against labels.
public struct PredictiveScores: Sendable, Codable, Equatable {
    /// Fraction of samples whose top-1 class is the label.
    public var accuracy: Double
    /// −(1/N)Σ ln p(y) (nats); a probability of 0 counts as the smallest normal Double.
    public var negativeLogLikelihood: Double
    /// Σ_b |B_b|/N · |accuracy(B_b) − confidence(B_b)| over `reliability`'s bins.
    public var expectedCalibrationError: Double
    /// The reliability diagram: `Uncertainty.calibrationBins` equal-width bins.
    public var reliability: [ReliabilityBin]
}

/// Accuracy on the samples kept when the `rejectedPercent` % most uncertain are set aside.
public struct RejectionPoint: Sendable, Codable, Equatable {
    /// The share of samples set aside, most uncertain first.
    public var rejectedPercent: Int
    /// Samples left.
    public var kept: Int
    /// Top-1 accuracy on the samples left.
    public var accuracy: Double
}

/// MC dropout and the mean net against labels.
public struct UncertaintyEvaluation: Sendable, Codable, Equatable {
    /// Scores of the MC dropout predictive mean.
    public var monteCarlo: PredictiveScores
    /// Scores of the deterministic mean net, when its probabilities were given.
    public var meanNet: PredictiveScores?
    /// Rejecting by MC predictive entropy.
    public var rejection: [RejectionPoint]
    /// Rejecting by the mean net's softmax entropy (the deterministic baseline), when given.
    public var meanNetRejection: [RejectionPoint]?
}

/// MC dropout uncertainty for classifiers: entropies, mutual information and calibration
/// against labels, and whether the mean net or MC dropout predicts better on given data.
public enum Uncertainty {
    /// Bins of the reliability diagram and the ECE.
    public static let calibrationBins = 15
    /// Rejected fractions of the rejection curve, in percent.
    public static let rejectionPercents = Array(stride(from: 0, through: 50, by: 5))

    /// Whether `output` looks like a classifier's logits: [N, K] with K > 1, not made by a softmax.
    public static func looksLikeLogits(_ graph: Graph, output: String, shape: [Int]) -> Bool {
        guard shape.count == 2, shape[1] > 1 else { return false }
        if let p = graph.producerIndex(of: output), case .softmax = graph.nodes[p].op { return false }
        return true
    }

    /// Softmax over axis 1 of [N, K] values (logits → probabilities), in Float64.
    public static func softmax(_ logits: NDArray<Double>) throws(RuntimeError) -> NDArray<Double> {
        var out = [Double](repeating: 0, count: logits.count)
        do {
            try logits.values.withUnsafeBufferPointer { x throws(KernelError) in
                try out.withUnsafeMutableBufferPointer { y throws(KernelError) in
                    try CNNKernels.softmax(input: x.baseAddress!, output: y.baseAddress!, shape: logits.shape, axis: 1)
                }
            }
        } catch { throw .invalidArgument("softmax over axis 1 of shape \(logits.shape): \(error)") }
        return NDArray(shape: logits.shape, values: out)
    }

    /// The uncertainty of an MC dropout output of probabilities over axis 1 ([N, K]; the output
    /// was a softmax, or `logits` named it). `meanNet`: eval-mode probabilities of the same shape.
    public static func classifier(_ mc: MonteCarloOutput, passes: Int, meanNet: NDArray<Double>? = nil)
        throws(RuntimeError) -> ClassifierUncertainty
    {
        guard mc.mean.shape.count == 2, let h = mc.predictiveEntropy, let mi = mc.mutualInformation else {
            throw .invalidArgument(
                "output '\(mc.name)' is not a distribution over classes of shape [N, K] (shape \(mc.mean.shape))")
        }
        if let m = meanNet, m.shape != mc.mean.shape {
            throw .invalidArgument(
                "mean-net probabilities of shape \(m.shape) for MC output '\(mc.name)' of shape \(mc.mean.shape)")
        }
        return ClassifierUncertainty(
            output: mc.name, passes: passes, predictiveMean: mc.mean,
            classVariance: NDArray(
                shape: mc.standardDeviation.shape, values: mc.standardDeviation.values.map { $0 * $0 }),
            predictiveEntropy: h.values, expectedEntropy: zip(h.values, mi.values).map { max(0, $0 - $1) },
            mutualInformation: mi.values, meanNet: meanNet)
    }

    /// Class labels read as numbers (an .npy of integers): each must be an integer in 0..<classes.
    public static func labels(_ values: [Double], samples: Int, classes: Int) throws(RuntimeError) -> [Int] {
        guard values.count == samples else {
            throw .invalidArgument("\(values.count) labels for \(samples) samples")
        }
        var out: [Int] = []
        for (i, v) in values.enumerated() {
            guard v.rounded() == v, v >= 0, v < Double(classes) else {
                throw .invalidArgument("label \(i) is \(v): labels must be class indices 0…\(classes - 1)")
            }
            out.append(Int(v))
        }
        return out
    }

    static func argmax(_ p: NDArray<Double>, _ n: Int) -> Int {
        let k = p.shape[1]
        var best = 0
        for j in 1..<k where p.values[n * k + j] > p.values[n * k + best] { best = j }
        return best
    }

    /// Accuracy, NLL, ECE and reliability bins of probabilities [N, K] against labels.
    public static func scores(_ p: NDArray<Double>, labels: [Int], bins: Int = calibrationBins) -> PredictiveScores {
        let n = p.shape[0], k = p.shape[1]
        var correct = 0, nll = 0.0
        var count = [Int](repeating: 0, count: bins), confidence = [Double](repeating: 0, count: bins),
            hits = [Int](repeating: 0, count: bins)
        for i in 0..<n {
            let top = argmax(p, i), c = p.values[i * k + top]
            let hit = top == labels[i]
            if hit { correct += 1 }
            nll -= log(max(p.values[i * k + labels[i]], Double.leastNormalMagnitude))
            let b = min(bins - 1, max(0, Int((c * Double(bins)).rounded(.up)) - 1))  // (lower, upper] bins
            count[b] += 1; confidence[b] += c; if hit { hits[b] += 1 }
        }
        var ece = 0.0
        var reliability: [ReliabilityBin] = []
        for b in 0..<bins {
            let m = count[b]
            let conf = m > 0 ? confidence[b] / Double(m) : 0, acc = m > 0 ? Double(hits[b]) / Double(m) : 0
            ece += Double(m) / Double(max(1, n)) * abs(acc - conf)
            reliability.append(
                ReliabilityBin(
                    lower: Double(b) / Double(bins), upper: Double(b + 1) / Double(bins),
                    count: m, confidence: conf, accuracy: acc))
        }
        return PredictiveScores(
            accuracy: Double(correct) / Double(max(1, n)), negativeLogLikelihood: nll / Double(max(1, n)),
            expectedCalibrationError: ece, reliability: reliability)
    }

    /// Accuracy of the top-1 prediction of `p` on the samples left when the ⌊k·N/100⌋ with the
    /// largest `uncertainty` are set aside (ties: the later sample goes first), for each k.
    public static func rejectionCurve(
        _ p: NDArray<Double>, uncertainty: [Double], labels: [Int],
        percents: [Int] = rejectionPercents
    ) -> [RejectionPoint] {
        let n = p.shape[0]
        let order = (0..<n).sorted { uncertainty[$0] != uncertainty[$1] ? uncertainty[$0] > uncertainty[$1] : $0 > $1 }
        return percents.map { k in
            let kept = order[(k * n / 100)...]
            let correct = kept.filter { argmax(p, $0) == labels[$0] }.count
            return RejectionPoint(
                rejectedPercent: k, kept: kept.count, accuracy: kept.isEmpty ? 0 : Double(correct) / Double(kept.count))
        }
    }

    /// Per-sample entropy −Σ p ln p of probabilities [N, K].
    public static func entropy(_ p: NDArray<Double>) -> [Double] {
        p.values.withUnsafeBufferPointer { Executor<Double>.entropy($0, shape: p.shape, axis: 1) }
    }

    /// MC dropout's predictive distribution and the mean net's, scored against `labels`.
    public static func evaluate(_ u: ClassifierUncertainty, labels: [Int]) -> UncertaintyEvaluation {
        UncertaintyEvaluation(
            monteCarlo: scores(u.predictiveMean, labels: labels),
            meanNet: u.meanNet.map { scores($0, labels: labels) },
            rejection: rejectionCurve(u.predictiveMean, uncertainty: u.predictiveEntropy, labels: labels),
            meanNetRejection: u.meanNet.map { rejectionCurve($0, uncertainty: entropy($0), labels: labels) })
    }
}
