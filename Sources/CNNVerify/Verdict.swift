// The rule that decides whether a candidate (a folded model) is as good as its reference (the
// unfolded model). The default asks a question about the fold, not about Float32: is the
// candidate as close to the exact (Float64) result as the reference itself is in the precision
// it runs in? A fixed tolerance cannot answer that: a 50-layer network with outputs in the
// thousands is off by 1e-3 in Float32 before anything is folded.
import Foundation

/// How a candidate's outputs are judged.
public enum VerificationRule: Sendable, Equatable {
    /// Pass iff, per output, the candidate's error against the reference run in Float64 is at
    /// most `factor` times the reference's own error against Float64 (in the precision and
    /// storage the candidate has) plus a floor of `floor`·max|reference|, both for the largest
    /// element error and for the root mean square.
    case matchesReferencePrecision(factor: Double, floor: Double)
    /// numpy.allclose: |candidate − reference| ≤ atol + rtol·|reference| for every element,
    /// the reference run in Float32.
    case allclose(atol: Double, rtol: Double)

    /// The default: 4× the reference's own error, with a floor of two units in the last place
    /// of the output's largest magnitude (2^-23 of it) for outputs Float32 computes exactly.
    /// Folding computes in Float64 and rounds once, so a correct fold's error is of the same
    /// order as the reference's: 0.4–2.8× over 16 deep ill-conditioned random models (largest
    /// element; rms 0.4–2.2×, VerdictTests); a dropped BN shift or a wrong ε is 10^4–10^7×,
    /// f16-rounded weights 10^3×, a 1e-3 error in one signal-carrying channel 10–400×.
    public static let `default` = VerificationRule.matchesReferencePrecision(factor: 4, floor: 0x1p-23)
    /// The tolerances used when `allclose` is asked for with one of them missing.
    public static let defaultAtol = 1e-5, defaultRtol = 1e-4

    /// The rule a command line asks for: `allclose` when either tolerance is given (the other
    /// at its default), the default rule otherwise.
    public init(atol: Double?, rtol: Double?) {
        if atol == nil && rtol == nil { self = .default; return }
        self = .allclose(atol: atol ?? Self.defaultAtol, rtol: rtol ?? Self.defaultRtol)
    }
}

/// The verdict on one output under `matchesReferencePrecision`, with every number behind it.
public struct Verdict: Codable, Sendable, Equatable {
    /// What the reference's own error was measured in: "f32" or, for a candidate whose
    /// weights are stored narrower, "f32 with weights as f16" / "… as bf16".
    public var budgetSource: String
    /// How many times the reference's own error the candidate may have (the rule's multiplier).
    public var factor: Double
    /// The absolute floor: `floor` × max|reference in Float64|.
    public var floor: Double
    /// |candidate − reference in Float64|: largest element and root mean square.
    public var candidateMaxError: Double
    /// The candidate's RMS error against Float64: a second test that one outlier cannot pass alone.
    public var candidateRmsError: Double
    /// |reference (in the budget's precision) − reference in Float64|.
    public var budgetMaxError: Double
    /// The reference's own RMS error against Float64.
    public var budgetRmsError: Double
    /// factor·budget + floor.
    public var maxBound: Double
    /// factor·budgetRms + floor: the RMS test's bound.
    public var rmsBound: Double
    /// The smaller of bound/error over the two tests: > 1 passes with that much room, < 1
    /// fails by that much. Infinite when the candidate is exact.
    public var margin: Double
    /// The element with the largest candidate error (row-major index) and its values.
    public var worstIndex: [Int]
    /// The candidate's value at `worstIndex`.
    public var worstCandidate: Double
    /// The Float64 reference's value at `worstIndex`.
    public var worstReference64: Double
    /// The budget-precision reference's value at `worstIndex`.
    public var worstBudgetReference: Double
    /// Elements that are NaN in either, or infinite in one only: each is a failure.
    public var nonFinite: Int
    /// Both tests within their bounds and no non-finite element.
    public var passed: Bool

    /// Judges `candidate` against `reference64` with `budget` (the reference in the budget's
    /// precision) as the yardstick. All three have the same element count.
    public static func judge<C: BinaryFloatingPoint, B: BinaryFloatingPoint>(
        candidate: UnsafeBufferPointer<C>, budget: UnsafeBufferPointer<B>, reference64: UnsafeBufferPointer<Double>,
        shape: [Int], factor: Double, floor relativeFloor: Double, budgetSource: String
    ) -> Verdict {
        precondition(candidate.count == reference64.count && budget.count == reference64.count)
        var cMax = 0.0, cSq = 0.0, bMax = 0.0, bSq = 0.0, scale = 0.0, worst = 0, nonFinite = 0
        for i in 0..<reference64.count {
            let r = reference64[i], c = Double(candidate[i]), b = Double(budget[i])
            guard r.isFinite, c.isFinite else {
                // A NaN anywhere fails (a model that outputs NaN verifies nothing); the same
                // infinity in both agrees, as numpy.allclose has it.
                if !(r.isInfinite && c == r) { nonFinite += 1 }
                continue
            }
            scale = max(scale, abs(r))
            let dc = abs(c - r)
            if dc > cMax { cMax = dc; worst = i }
            cSq += dc * dc
            if b.isFinite {
                let db = abs(b - r)
                bMax = max(bMax, db)
                bSq += db * db
            }
        }
        let n = Double(max(1, reference64.count))
        let cRms = (cSq / n).squareRoot(), bRms = (bSq / n).squareRoot()
        let floor = relativeFloor * scale
        let maxBound = factor * bMax + floor, rmsBound = factor * bRms + floor
        func ratio(_ bound: Double, _ error: Double) -> Double { error == 0 ? .infinity : bound / error }
        let margin = min(ratio(maxBound, cMax), ratio(rmsBound, cRms))
        return Verdict(
            budgetSource: budgetSource, factor: factor, floor: floor, candidateMaxError: cMax, candidateRmsError: cRms,
            budgetMaxError: bMax, budgetRmsError: bRms, maxBound: maxBound, rmsBound: rmsBound, margin: margin,
            worstIndex: unravel(worst, shape), worstCandidate: candidate.isEmpty ? 0 : Double(candidate[worst]),
            worstReference64: reference64.isEmpty ? 0 : reference64[worst],
            worstBudgetReference: budget.isEmpty ? 0 : Double(budget[worst]),
            nonFinite: nonFinite, passed: nonFinite == 0 && cMax <= maxBound && cRms <= rmsBound)
    }
}

/// The row-major multi-index of flat index `flat` in `shape`.
func unravel(_ flat: Int, _ shape: [Int]) -> [Int] {
    var index: [Int] = [], rest = flat
    for dim in shape.reversed() { index.append(rest % max(dim, 1)); rest /= max(dim, 1) }
    return index.reversed()
}
