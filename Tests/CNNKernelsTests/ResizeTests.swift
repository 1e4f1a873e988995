// Resize (nearest, bilinear, and the separable cubic/antialias/crop kernel) against the ONNX
// Resize formulas written out here, plus small examples whose answers are known by hand.

import CNNKernels
import Foundation
import Testing

/// ONNX coordinate transformation, independent of the kernel's implementation. As in onnx's
/// reference (onnx/reference/ops/op_resize.py), the resized length of align_corners,
/// half_pixel_symmetric and tf_crop_and_resize is in·scale as a real number (2.4 for 4 × 0.6).
func sourceCoordinate(
    _ mode: String, _ x: Int, scale: Double, inLength: Int, outLength: Int, roi: (Double, Double) = (0, 1)
) -> Double {
    let x = Double(x), n = Double(inLength), resized = n * scale
    switch mode {
    case "half_pixel": return (x + 0.5) / scale - 0.5
    case "pytorch_half_pixel": return outLength > 1 ? (x + 0.5) / scale - 0.5 : 0
    case "asymmetric": return x / scale
    case "align_corners": return resized == 1 ? 0 : x * (n - 1) / (resized - 1)
    case "half_pixel_symmetric": return n / 2 * (1 - Double(outLength) / resized) + (x + 0.5) / scale - 0.5
    case "tf_crop_and_resize":
        return resized == 1
            ? (roi.1 - roi.0) * (n - 1) / 2 + roi.0 * (n - 1)
            : x * (roi.1 - roi.0) * (n - 1) / (resized - 1) + roi.0 * (n - 1)
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

    static let plainTransforms: [CoordinateTransform] = [.halfPixel, .pytorchHalfPixel, .asymmetric, .alignCorners]

    @Test(arguments: plainTransforms)
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

    @Test(arguments: plainTransforms)
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

    /// One axis resampled the textbook way: every input position p near the source coordinate
    /// weighs kernel((p − s)·scale'), reading the edge sample beyond the input (or weighing 0
    /// with exclude_outside), normalized when antialiased or excluding.
    static func resample1D(
        _ v: [Double], outLength: Int, scale: Double, mode: String, filter: String, a: Double = -0.75,
        antialias: Bool = false, exclude: Bool = false, roi: (Double, Double) = (0, 1), extrapolation: Double = 0
    ) -> [Double] {
        let n = v.count
        func kernel(_ d: Double) -> Double {
            let d = abs(d)
            if filter == "linear" { return max(0, 1 - d) }
            if d <= 1 { return (a + 2) * d * d * d - (a + 3) * d * d + 1 }
            if d < 2 { return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a }
            return 0
        }
        let shrink = antialias ? min(scale, 1) : 1
        let support = (filter == "linear" ? 1.0 : 2.0) / shrink
        return (0..<outLength).map { o in
            let s = sourceCoordinate(mode, o, scale: scale, inLength: n, outLength: outLength, roi: roi)
            if mode == "tf_crop_and_resize" && (s < 0 || s > Double(n - 1)) { return extrapolation }
            var sum = 0.0, total = 0.0
            for p in Int(floor(s - support)) - 1...Int(ceil(s + support)) + 1 {
                if exclude && (p < 0 || p >= n) { continue }
                let w = kernel((Double(p) - s) * shrink)
                sum += w * v[min(max(p, 0), n - 1)]
                total += w
            }
            return antialias || exclude ? sum / total : sum
        }
    }

    /// The separable kernel against `resample1D` applied to W and then H, over every transform,
    /// linear and cubic (two coefficients), antialiasing and exclude_outside, up and down.
    @Test(arguments: CoordinateTransform.allCases)
    func separable(transform: CoordinateTransform) throws {
        let input = Shape4D(batch: 2, channels: 1, height: 5, width: 7)
        var r = TestRandom(72)
        let x = r.values(input.count, Double.self)
        let roiH = (0.2, 0.9), roiW = (0.6, 0.1)
        for (sh, sw) in Self.scales {
            for (filter, options) in [
                ("linear", [false, false]), ("linear", [true, false]), ("cubic", [false, false]),
                ("cubic", [true, false]), ("cubic", [false, true]), ("cubic", [true, true]),
            ] {
                for a in filter == "cubic" ? [-0.75, -0.5] : [-0.75] {
                    let sampling = ResizeSampling(
                        filter: filter == "linear" ? .linear : .cubic(a: a), transform: transform,
                        antialias: options[0], excludeOutside: options[1],
                        cropHeight: ResizeRegion(start: roiH.0, end: roiH.1),
                        cropWidth: ResizeRegion(start: roiW.0, end: roiW.1), extrapolationValue: 7)
                    let g = try ResizeGeometry(input: input, scaleHeight: sh, scaleWidth: sw)
                    let oh = g.output.height, ow = g.output.width
                    let rows = try ResizeTaps(
                        sampling, inLength: 5, outLength: oh, scale: sh, region: sampling.cropHeight)
                    let columns = try ResizeTaps(
                        sampling, inLength: 7, outLength: ow, scale: sw, region: sampling.cropWidth)
                    func check<T: KernelScalar>(_: T.Type) {
                        let got = run(T.self, [x], outputCount: g.output.count) { p, o in
                            resizeSeparable(
                                g, input: p[0], output: o, rows: rows, columns: columns, extrapolationValue: 7)
                        }
                        var ref = [Double]()
                        for plane in 0..<2 {
                            let wide = (0..<5).map { y in
                                Self.resample1D(
                                    Array(x[(plane * 5 + y) * 7..<(plane * 5 + y + 1) * 7]), outLength: ow, scale: sw,
                                    mode: transform.rawValue, filter: filter, a: a, antialias: options[0],
                                    exclude: options[1], roi: roiW, extrapolation: 7)
                            }
                            var out = [Double](repeating: 0, count: oh * ow)
                            for c in 0..<ow {
                                let column = Self.resample1D(
                                    wide.map { $0[c] }, outLength: oh, scale: sh, mode: transform.rawValue,
                                    filter: filter,
                                    a: a, antialias: options[0], exclude: options[1], roi: roiH, extrapolation: 7)
                                for y in 0..<oh { out[y * ow + c] = column[y] }
                            }
                            ref += out
                        }
                        expectClose(
                            got, ref, tolerance: tolerance(T.self),
                            "\(T.self) \(filter) \(options) a=\(a) \(transform) \(sh)x\(sw)")
                    }
                    check(Float.self)
                    check(Double.self)
                }
            }
        }
    }

    /// Hand examples: Catmull-Rom (cubic, a = −0.5) halfway between two samples weighs them 9/16
    /// each and the outer two −1/16; align_corners downsampling 4
    /// samples by 0.6 keeps 2, the second at 1·3/(2.4 − 1) = 15/7 (onnx's reference, not 3).
    @Test func separableHandExamples() throws {
        let input = Shape4D(batch: 1, channels: 1, height: 1, width: 4)
        let cubic = ResizeSampling(filter: .cubic(a: -0.5), transform: .asymmetric)
        let taps = try ResizeTaps(cubic, inLength: 4, outLength: 8, scale: 2)
        // output 3 samples at 1.5: taps 0, 1, 2, 3 with weights −1/16, 9/16, 9/16, −1/16
        #expect(Array(taps.index[12..<16]) == [0, 1, 2, 3])
        let catmullRom: [Double] = [-0.0625, 0.5625, 0.5625, -0.0625]
        #expect(Array(taps.weight[12..<16]) == catmullRom)
        let linear = ResizeSampling(filter: .linear, transform: .alignCorners)
        let g = try ResizeGeometry(input: input, scaleHeight: 1, scaleWidth: 0.6)
        let rows = try ResizeTaps(linear, inLength: 1, outLength: 1, scale: 1)
        let columns = try ResizeTaps(linear, inLength: 4, outLength: 2, scale: 0.6)
        let got = run(Double.self, [[0, 1, 2, 3]], outputCount: 2) { p, o in
            resizeSeparable(g, input: p[0], output: o, rows: rows, columns: columns, extrapolationValue: 0)
        }
        expectClose(got, [0, 15.0 / 7], tolerance: 1e-15, "align_corners 4 → 2")
    }
}
