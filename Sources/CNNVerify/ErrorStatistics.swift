// How far apart two arrays are, in the numbers a user needs to judge it: max abs/rel error and
// where, mean/RMS, cosine, argmax agreement, the tolerances that would pass, errors by decade.
import Foundation

/// Every number a user needs to judge a difference without re-running anything: one of these per
/// compared output goes into `verify --json`, so its fields are the report's schema.
public struct ErrorStatistics: Codable, Sendable, Equatable {
    /// Elements compared; the denominator of the means.
    public var count: Int
    /// The largest |candidate − reference|: what allclose-style tolerances are set against.
    public var maxAbsError: Double
    /// Row-major index of the element with the largest |a − b|.
    public var maxAbsIndex: [Int]
    /// The candidate's value at `maxAbsIndex`, so the worst element can be checked by hand.
    public var candidateValue: Double
    /// The reference's value at `maxAbsIndex`.
    public var referenceValue: Double
    /// The largest |a − b| / |b| over elements with b ≠ 0: how many digits survive where values are small.
    public var maxRelError: Double
    /// The typical error, which one outlier does not dominate.
    public var meanAbsError: Double
    /// Root mean square error: weighs large errors more than the mean does, less than the max.
    public var rmsError: Double
    /// Direction agreement of the two outputs as vectors (1 = same direction), insensitive to scale.
    public var cosineSimilarity: Double
    /// Rows (axis 0) whose argmax over the remaining axes agree; nil unless the output is
    /// classifier-shaped ([N, K], K > 1).
    public var argmaxAgreement: Int?
    /// Rows (axis 0) the argmax agreement is out of.
    public var rows: Int
    /// The smallest atol that passes with rtol = 0, and the smallest rtol with atol = 0.
    public var neededAtol: Double
    /// See `neededAtol`: the smallest rtol that passes with atol = 0.
    public var neededRtol: Double
    /// Elements whose |a − b| falls in [10^k, 10^(k+1)), by k; "exact" counts exact matches.
    public var histogram: [String: Int]
    /// Elements that are NaN in either array, or infinite in one only or with opposite signs;
    /// each is a failure whatever the tolerances.
    public var nonFinite: Int

    /// Elements failing numpy.allclose's rule |a − b| ≤ atol + rtol·|b| (b the reference)
    /// at the tolerances `compare` was given.
    public var failures: Int

    /// True when every element passed at the given tolerances (a non-finite element never does).
    public var passed: Bool { failures == 0 }

    /// Compares `candidate` with `reference` (same shape), counting failures at atol/rtol.
    public static func compare<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(
        candidate: UnsafeBufferPointer<A>, reference: UnsafeBufferPointer<B>, shape: [Int], atol: Double, rtol: Double
    ) -> ErrorStatistics {
        precondition(candidate.count == reference.count)
        var maxAbs = 0.0, maxAbsAt = 0, maxRel = 0.0, sumAbs = 0.0, sumSq = 0.0
        var dot = 0.0, normA = 0.0, normB = 0.0, neededRtol = 0.0, failures = 0, nonFinite = 0
        var histogram: [String: Int] = [:]
        for i in 0..<candidate.count {
            let a = Double(candidate[i]), b = Double(reference[i])
            guard a.isFinite, b.isFinite else {
                // A NaN in either output fails, even in both: a model computing NaN proves
                // nothing about the fold. Infinities agree only as the same infinity (allclose).
                if a.isNaN || b.isNaN || a != b { nonFinite += 1; failures += 1 }
                continue
            }
            let d = abs(a - b)
            if d > maxAbs { maxAbs = d; maxAbsAt = i }
            if b != 0 {
                maxRel = max(maxRel, d / abs(b)); neededRtol = max(neededRtol, d / abs(b))
            } else if d > 0 {
                neededRtol = .infinity
            }
            sumAbs += d; sumSq += d * d
            dot += a * b; normA += a * a; normB += b * b
            if d > atol + rtol * abs(b) { failures += 1 }
            let key = d == 0 ? "exact" : String(Int((log10(d)).rounded(.down)))
            histogram[key, default: 0] += 1
        }
        let n = max(1, candidate.count)
        var argmax: Int? = nil
        let rows = shape.first ?? 1
        if shape.count == 2, shape[1] > 1 {
            var agree = 0
            let k = shape[1]
            for r in 0..<rows {
                var ia = 0, ib = 0
                for j in 1..<k {
                    if candidate[r * k + j] > candidate[r * k + ia] { ia = j }
                    if reference[r * k + j] > reference[r * k + ib] { ib = j }
                }
                if ia == ib { agree += 1 }
            }
            argmax = agree
        }
        let cosine = (normA == 0 && normB == 0) ? 1 : dot / (normA.squareRoot() * normB.squareRoot())
        return ErrorStatistics(
            count: candidate.count, maxAbsError: maxAbs, maxAbsIndex: unravel(maxAbsAt, shape),
            candidateValue: candidate.isEmpty ? 0 : Double(candidate[maxAbsAt]),
            referenceValue: reference.isEmpty ? 0 : Double(reference[maxAbsAt]),
            maxRelError: maxRel, meanAbsError: sumAbs / Double(n), rmsError: (sumSq / Double(n)).squareRoot(),
            cosineSimilarity: cosine, argmaxAgreement: argmax, rows: rows,
            neededAtol: nonFinite > 0 ? .infinity : maxAbs,
            neededRtol: nonFinite > 0 ? .infinity : neededRtol, histogram: histogram, nonFinite: nonFinite,
            failures: failures)
    }
}
