// The verifier's arithmetic against values worked out by hand (in the comments), not against
// what the code printed.
import CNNVerify
import Foundation
import Testing

@Suite struct ErrorStatisticsTests {
    @Test func everyStatisticOfASmallCase() {
        // candidate [[1, 2], [3.5, −1]] vs reference [[1, 2.5], [3, −2]]: |Δ| = 0, 0.5, 0.5, 1.
        let c: [Float] = [1, 2, 3.5, -1], r: [Double] = [1, 2.5, 3, -2]
        let s = c.withUnsafeBufferPointer { cp in
            r.withUnsafeBufferPointer { rp in
                ErrorStatistics.compare(candidate: cp, reference: rp, shape: [2, 2], atol: 0.1, rtol: 0.1)
            }
        }
        #expect(s.maxAbsError == 1 && s.maxAbsIndex == [1, 1])
        #expect(s.candidateValue == -1 && s.referenceValue == -2)
        #expect(s.maxRelError == 0.5)  // 1/|−2|
        #expect(s.meanAbsError == 0.5)  // (0 + 0.5 + 0.5 + 1)/4
        #expect(abs(s.rmsError - 0.375.squareRoot()) < 1e-15)  // √((0 + .25 + .25 + 1)/4)
        #expect(abs(s.cosineSimilarity - 18.5 / (18.25.squareRoot() * 4.5)) < 1e-15)  // a·b/(|a||b|)
        #expect(s.argmaxAgreement == 2 && s.rows == 2)  // rows agree on 1 and 0
        #expect(s.neededAtol == 1 && s.neededRtol == 0.5)
        #expect(s.histogram == ["exact": 1, "-1": 2, "0": 1])  // 0.5 ∈ [0.1, 1), 1 ∈ [1, 10)
        // 0.1 + 0.1·|b|: 0.35, 0.4, 0.3 are all below the errors 0.5, 0.5, 1.
        #expect(s.failures == 3 && !s.passed)
    }

    @Test func theVerdictOfASmallCase() {
        // candidate [1, 2], reference in f32 [1.1, 1.9], in f64 [1.05, 2]:
        // candidate errors 0.05, 0 (max 0.05, rms √(0.0025/2)); reference errors 0.05, 0.1
        // (max 0.1, rms √(0.0125/2)); floor 2^-23·2.
        let c: [Float] = [1, 2], b: [Float] = [1.1, 1.9], r64: [Double] = [1.05, 2]
        let v = c.withUnsafeBufferPointer { cp in
            b.withUnsafeBufferPointer { bp in
                r64.withUnsafeBufferPointer { rp in
                    Verdict.judge(
                        candidate: cp, budget: bp, reference64: rp, shape: [2], factor: 4, floor: 0x1p-23,
                        budgetSource: "f32")
                }
            }
        }
        let floor = 0x1p-23 * 2.0
        #expect(v.floor == floor)
        #expect(abs(v.candidateMaxError - 0.05) < 1e-7 && v.worstIndex == [0])
        #expect(abs(v.budgetMaxError - 0.1) < 1e-7)
        #expect(abs(v.maxBound - (0.4 + floor)) < 1e-6)
        #expect(abs(v.rmsBound - (4 * (0.0125 / 2).squareRoot() + floor)) < 1e-6)
        // margin = min(0.4/0.05, 4·√(0.0125/2)/√(0.0025/2)) = min(8, 4·√5) = 8
        #expect(abs(v.margin - 8) < 1e-4)
        #expect(v.passed)
        // A NaN where the exact result is finite fails, whatever the numbers.
        let nan: [Float] = [.nan, 2]
        let failed = nan.withUnsafeBufferPointer { cp in
            b.withUnsafeBufferPointer { bp in
                r64.withUnsafeBufferPointer { rp in
                    Verdict.judge(
                        candidate: cp, budget: bp, reference64: rp, shape: [2], factor: 4, floor: 0x1p-23,
                        budgetSource: "f32")
                }
            }
        }
        #expect(failed.nonFinite == 1 && !failed.passed)
    }
}
