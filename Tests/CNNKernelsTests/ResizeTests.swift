// Resize (nearest and bilinear) against the ONNX Resize formulas written out here, plus small
// examples whose answers are known by hand.

import CNNKernels
import Foundation
import Testing

/// ONNX coordinate transformation, independent of the kernel's implementation.
func sourceCoordinate(_ mode: String, _ x: Int, scale: Double, inLength: Int, outLength: Int) -> Double {
    let x = Double(x)
    switch mode {
    case "half_pixel": return (x + 0.5) / scale - 0.5
    case "pytorch_half_pixel": return outLength > 1 ? (x + 0.5) / scale - 0.5 : 0
    case "asymmetric": return x / scale
    case "align_corners": return outLength == 1 ? 0 : x * Double(inLength - 1) / Double(outLength - 1)
    default: fatalError("unknown mode \(mode)")
    }
}

func nearestIndex(_ mode: String, _ v: Double) -> Int {
    switch mode {
    case "round_prefer_floor": return v == floor(v) + 0.5 ? Int(floor(v)) : Int(v.rounded())
    case "round_prefer_ceil": return v == floor(v) + 0.5 ? Int(ceil(v)) : Int(v.rounded())
    case "floor": return Int(floor(v))
    case "ceil": return Int(ceil(v))
    default: fatalError("unknown mode \(mode)")
    }
}

@Suite struct ResizeTests {
    static let scales: [(Double, Double)] = [(2, 3), (0.5, 0.75), (1.7, 0.6), (3, 1), (0.34, 2.5)]

    @Test(arguments: CoordinateTransform.allCases)
    func nearestAllRoundings(transform: CoordinateTransform) throws {
        let input = Shape4D(batch: 2, channels: 2, height: 5, width: 7)
        var r = TestRandom(70)
        let x = r.values(input.count, Double.self)
        for (sh, sw) in Self.scales {
            let g = try ResizeGeometry(input: input, scaleHeight: sh, scaleWidth: sw)
            let oh = Int(floor(5 * sh)), ow = Int(floor(7 * sw))
            #expect(g.output.height == oh && g.output.width == ow)
            for rounding in NearestRounding.allCases {
                let got = run(Double.self, [x], outputCount: g.output.count) { p, o in
                    resizeNearest(g, input: p[0], output: o, transform: transform, rounding: rounding)
                }
                var ref = [Double]()
                for plane in 0..<4 {
                    for y in 0..<oh {
                        for xo in 0..<ow {
                            let iy = min(
                                max(
                                    nearestIndex(
                                        rounding.rawValue,
                                        sourceCoordinate(transform.rawValue, y, scale: sh, inLength: 5, outLength: oh)),
                                    0), 4)
                            let ix = min(
                                max(
                                    nearestIndex(
                                        rounding.rawValue,
                                        sourceCoordinate(transform.rawValue, xo, scale: sw, inLength: 7, outLength: ow)),
                                    0), 6)
                            ref.append(x[(plane * 5 + iy) * 7 + ix])
                        }
                    }
                }
                #expect(got == ref, "nearest \(transform) \(rounding) \(sh)x\(sw)")
            }
        }
    }

    @Test(arguments: CoordinateTransform.allCases)
    func bilinear(transform: CoordinateTransform) throws {
        func check<T: KernelScalar>(_: T.Type) throws {
            let input = Shape4D(batch: 1, channels: 3, height: 4, width: 6)
            var r = TestRandom(71)
            let x = r.values(input.count, T.self)
            for (sh, sw) in Self.scales {
                let g = try ResizeGeometry(input: input, scaleHeight: sh, scaleWidth: sw)
                let oh = g.output.height, ow = g.output.width
                let got = run(T.self, [x], outputCount: g.output.count) { p, o in
                    resizeBilinear(g, input: p[0], output: o, transform: transform)
                }
                var ref = [Double]()
                for plane in 0..<3 {
                    for y in 0..<oh {
                        for xo in 0..<ow {
                            let sy = min(
                                max(sourceCoordinate(transform.rawValue, y, scale: sh, inLength: 4, outLength: oh), 0),
                                3)
                            let sx = min(
                                max(sourceCoordinate(transform.rawValue, xo, scale: sw, inLength: 6, outLength: ow), 0),
                                5)
                            let y0 = Int(floor(sy)), x0 = Int(floor(sx))
                            let y1 = min(y0 + 1, 3), x1 = min(x0 + 1, 5)
                            let fy = sy - Double(y0), fx = sx - Double(x0)
                            func at(_ yy: Int, _ xx: Int) -> Double { x[(plane * 4 + yy) * 6 + xx] }
                            ref.append(
                                (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy
                                    * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)))
                        }
                    }
                }
                expectClose(got, ref, tolerance: tolerance(T.self), "\(T.self) bilinear \(transform) \(sh)x\(sw)")
            }
        }
        try check(Float.self)
        try check(Double.self)
    }

    /// Hand examples: [0, 1] to 3 columns with align_corners gives [0, 0.5, 1]; to 4 with
    /// half_pixel gives [0, 0.25, 0.75, 1]; nearest asymmetric floor 2x repeats each pixel.
    @Test func handExamples() throws {
        let input = Shape4D(batch: 1, channels: 1, height: 1, width: 2)
        let g3 = try ResizeGeometry(input: input, outHeight: 1, outWidth: 3)
        #expect(
            run(Double.self, [[0, 1]], outputCount: 3) { p, o in
                resizeBilinear(g3, input: p[0], output: o, transform: .alignCorners)
            } == [0, 0.5, 1])
        let g4 = try ResizeGeometry(input: input, scaleHeight: 1, scaleWidth: 2)
        #expect(
            run(Double.self, [[0, 1]], outputCount: 4) { p, o in
                resizeBilinear(g4, input: p[0], output: o, transform: .halfPixel)
            } == [0, 0.25, 0.75, 1])
        #expect(
            run(Double.self, [[3, 5]], outputCount: 4) { p, o in
                resizeNearest(g4, input: p[0], output: o, transform: .asymmetric, rounding: .floor)
            } == [3, 3, 5, 5])
        #expect(throws: KernelError.self) { try ResizeGeometry(input: input, scaleHeight: 0.5, scaleWidth: 1) }
    }
}
