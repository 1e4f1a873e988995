// Dropout masks: dropped fraction within 5 sigma of 1 − keep, reproducibility by seed,
// inverted scaling preserving the mean, classic scaling leaving kept values unchanged,
// channel-wise dropout dropping whole maps. Plus the PRNG against its published reference output.

import CNNKernels
import Foundation
import Testing

@Suite struct DropoutTests {
    /// Reference values for SplitMix64 with seed 1234567 (from the author's C code, as used in
    /// the xoshiro test suites).
    @Test func splitMixMatchesReference() {
        var s = SplitMix64(seed: 1_234_567)
        let expected: [UInt64] = [
            6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
            4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
        ]
        #expect((0..<5).map { _ in s.next() } == expected)
    }

    @Test(arguments: [0.1, 0.5, 0.8, 0.97])
    func elementDropFraction(keep: Double) throws {
        let s = Shape4D(batch: 4, channels: 8, height: 32, width: 32)
        let x = [Double](repeating: 1, count: s.count)
        var mask = [UInt8](repeating: 7, count: s.count)
        var gen = Xoshiro256StarStar(seed: 99)
        let y = try run(Float.self, [x], outputCount: s.count) { p, o in
            try dropout(
                s, input: p[0], output: o, keepProbability: keep, scaling: .inverted,
                granularity: .element, generator: &gen, mask: &mask)
        }
        let n = Double(s.count)
        let kept = Double(mask.filter { $0 == 1 }.count)
        #expect(mask.allSatisfy { $0 <= 1 })
        let sigma = (n * keep * (1 - keep)).squareRoot()
        #expect(abs(kept - n * keep) < 5 * sigma, "kept \(kept) of \(n), expected \(n * keep)")
        // Inverted: kept values are 1/keep, dropped 0; the output agrees with the mask.
        for i in 0..<s.count {
            let expected = mask[i] == 1 ? Double(Float(1 / keep)) : 0
            if y[i] != expected { Issue.record("element \(i): \(y[i]) vs mask \(mask[i])"); break }
        }
        // Expected value preserved: mean of y is 1 within 5 sigma (y ∈ {0, 1/keep}).
        let mean = y.reduce(0, +) / n
        let sigmaMean = ((1 - keep) / keep / n).squareRoot()
        #expect(abs(mean - 1) < 5 * sigmaMean + 1e-6, "mean \(mean)")
    }

    @Test func invertedPreservesMeanOfRandomInput() throws {
        let s = Shape4D(batch: 2, channels: 16, height: 64, width: 64)
        var r = TestRandom(5)
        let x = r.values(s.count, Double.self, 0, 2)
        let inputMean = x.reduce(0, +) / Double(s.count)
        var gen = Xoshiro256StarStar(seed: 2024)
        let keep = 0.6
        let y = try run(Double.self, [x], outputCount: s.count) { p, o in
            try dropout(
                s, input: p[0], output: o, keepProbability: keep, scaling: .inverted,
                granularity: .element, generator: &gen)
        }
        let mean = y.reduce(0, +) / Double(s.count)
        // Var(y_i) = E[x²]/keep − E[x]²; E[x²] = 4/3 for U(0, 2).
        let sigma = ((4.0 / 3.0 / keep - 1) / Double(s.count)).squareRoot()
        #expect(abs(mean - inputMean) < 5 * sigma, "mean \(mean) vs input \(inputMean)")
    }

    @Test func sameSeedSameMaskDifferentSeedDifferentMask() throws {
        let s = Shape4D(batch: 1, channels: 4, height: 16, width: 16)
        func mask(seed: UInt64, granularity: DropoutGranularity) throws -> [UInt8] {
            var m = [UInt8](repeating: 0, count: s.count)
            var gen = Xoshiro256StarStar(seed: seed)
            _ = try run(Float.self, [[Double](repeating: 1, count: s.count)], outputCount: s.count) { p, o in
                try dropout(
                    s, input: p[0], output: o, keepProbability: 0.5, scaling: .classic,
                    granularity: granularity, generator: &gen, mask: &m)
            }
            return m
        }
        #expect(try mask(seed: 7, granularity: .element) == mask(seed: 7, granularity: .element))
        #expect(try mask(seed: 7, granularity: .element) != mask(seed: 8, granularity: .element))
        #expect(try mask(seed: 7, granularity: .channel) == mask(seed: 7, granularity: .channel))
    }

    @Test func channelDropoutDropsWholeMaps() throws {
        let s = Shape4D(batch: 8, channels: 64, height: 5, width: 3)
        var r = TestRandom(6)
        let x = r.values(s.count, Double.self, 0.5, 1.5)  // never zero, so a zero means dropped
        var mask = [UInt8](repeating: 9, count: 8 * 64)
        var gen = Xoshiro256StarStar(seed: 31)
        let keep = 0.7
        let y = try run(Float.self, [x], outputCount: s.count) { p, o in
            try dropout(
                s, input: p[0], output: o, keepProbability: keep, scaling: .classic,
                granularity: .channel, generator: &gen, mask: &mask)
        }
        var keptPlanes = 0
        for p in 0..<(8 * 64) {
            let plane = (p * 15)..<((p + 1) * 15)
            let zeros = plane.filter { y[$0] == 0 }.count
            #expect(zeros == 0 || zeros == 15, "plane \(p) partly dropped")
            #expect((zeros == 0) == (mask[p] == 1))
            if zeros == 0 {
                keptPlanes += 1
                // Classic: kept values are unchanged.
                #expect(plane.allSatisfy { y[$0] == Double(Float(x[$0])) })
            }
        }
        let n = 512.0, sigma = (n * keep * (1 - keep)).squareRoot()
        #expect(abs(Double(keptPlanes) - n * keep) < 5 * sigma)
    }

    @Test func keepOneIsIdentityAndBadProbabilitiesThrow() throws {
        let s = Shape4D(batch: 1, channels: 2, height: 3, width: 3)
        var r = TestRandom(1)
        let x = r.values(18, Double.self)
        var gen = Xoshiro256StarStar(seed: 1)
        let y = try run(Double.self, [x], outputCount: 18) { p, o in
            try dropout(
                s, input: p[0], output: o, keepProbability: 1, scaling: .inverted, granularity: .element,
                generator: &gen)
        }
        #expect(y == x)
        for bad in [0.0, -0.1, 1.5, .nan] {
            #expect(throws: KernelError.self) {
                _ = try run(Double.self, [x], outputCount: 18) { p, o in
                    try dropout(
                        s, input: p[0], output: o, keepProbability: bad, scaling: .inverted, granularity: .element,
                        generator: &gen)
                }
            }
        }
    }
}
