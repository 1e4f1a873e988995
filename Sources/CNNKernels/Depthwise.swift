// Depthwise convolution (one input channel per group, MobileNet's 3×3 layers): per output row,
// a SIMD accumulator over output columns holds all kh·kw taps in registers, so each output
// element is written once instead of once per tap. Each input channel is first copied,
// zero-padded, into `stride.width` column phases (phase r holds padded columns r, r+s, r+2s, …):
// every tap then reads contiguous memory with no bounds test, borders included; a row's last
// columns take one more vector ending at the row's end (or, in rows narrower than a vector, a
// scalar loop over the same layout).
//
// Arithmetic order per output element is bias, then taps row-major (ki, then kj); a tap on
// padding adds weight × 0, as the im2col path does.
// Swift without a target CPU compiles SIMD types to SSE2, so the width chooses register blocking
// (how many independent sums are in flight), not the instruction set.

/// Output columns per accumulator the depthwise kernel uses by default: two 128-bit registers.
@inline(__always)
func defaultDepthwiseWidth<T: KernelScalar>(_: T.Type) -> Int { T.self == Float.self ? 8 : 4 }

/// Depthwise convolution (`geometry.isDepthwise`), output channel `oc` reading input channel
/// `oc / multiplier`. Buffers as `conv2d`.
func depthwiseConv2d<T: KernelScalar>(
    _ g: ConvGeometry, input: UnsafePointer<T>, weight: UnsafePointer<T>,
    bias: UnsafePointer<T>?, output: UnsafeMutablePointer<T>
) {
    depthwiseConv2d(
        g, input: input, weight: weight, bias: bias, output: output, vectorWidth: defaultDepthwiseWidth(T.self))
}

/// `depthwiseConv2d` with a chosen accumulator width: 1 (scalar only), 2, 4, 8 or 16 columns
/// (2 is Double's half register; Float uses 4, 8 or 16). Other values fall back to the default.
/// Exposed so tests cover every width on any machine.
@_spi(Testing)
@_specialize(where T == Float)
@_specialize(where T == Double)
public func depthwiseConv2d<T: KernelScalar>(
    _ g: ConvGeometry, input: UnsafePointer<T>, weight: UnsafePointer<T>,
    bias: UnsafePointer<T>?, output: UnsafeMutablePointer<T>, vectorWidth: Int
) {
    switch vectorWidth {
    case 1: depthwise(g, input, weight, bias, output, SIMD2<T>.self, SIMD2<T>.self, vector: false)
    case 2: depthwise(g, input, weight, bias, output, SIMD2<T>.self, SIMD2<T>.self, vector: true)
    case 4: depthwise(g, input, weight, bias, output, SIMD4<T>.self, SIMD2<T>.self, vector: true)
    case 8: depthwise(g, input, weight, bias, output, SIMD8<T>.self, SIMD4<T>.self, vector: true)
    case 16: depthwise(g, input, weight, bias, output, SIMD16<T>.self, SIMD8<T>.self, vector: true)
    default:
        depthwiseConv2d(
            g, input: input, weight: weight, bias: bias, output: output,
            vectorWidth: defaultDepthwiseWidth(T.self))
    }
}

/// The kernel proper: `Wide` is the main accumulator, `Narrow` the one for a row's remainder.
@inline(__always)
private func depthwise<T: KernelScalar, Wide: SIMD, Narrow: SIMD>(
    _ g: ConvGeometry, _ input: UnsafePointer<T>, _ weight: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
    _ output: UnsafeMutablePointer<T>, _: Wide.Type, _: Narrow.Type, vector: Bool
) where Wide.Scalar == T, Narrow.Scalar == T {
    let layout = PaddedPhases(g)
    let kh = g.kernel.height, kw = g.kernel.width, taps = kh * kw
    let sh = g.stride.height, oh = g.output.height, ow = g.output.width
    let ih = g.input.height, iw = g.input.width
    let multiplier = g.outChannelsPerGroup
    let cin = g.input.channels, cout = g.outChannels
    // Tap t = (ki, kj) of output (y, x) reads element `y·sh·width + tapOffset[t] + x` of the
    // phases: padded row y·sh + ki·dh, padded column x·sw + kj·dw = (x + q)·sw + r.
    var tapOffset = [Int](repeating: 0, count: taps)
    for ki in 0..<kh {
        for kj in 0..<kw {
            let u = kj * g.dilation.width, r = u % g.stride.width, q = u / g.stride.width
            tapOffset[ki * kw + kj] = (r * layout.height + ki * g.dilation.height) * layout.width + q
        }
    }
    let planes = g.input.batch * cout
    tapOffset.withUnsafeBufferPointer { tapBuffer in
        let tapOffset = tapBuffer.baseAddress!
        parallelFor(planes, costPerItem: oh * ow * taps) { range in
            withUnsafeTemporaryAllocation(of: T.self, capacity: layout.count) { scratch in
                let phases = scratch.baseAddress!
                var lastChannel = -1
                for p in range {
                    let n = p / cout, oc = p % cout
                    let channel = n * cin + oc / multiplier
                    if channel != lastChannel {
                        layout.fill(phases, from: input + channel * ih * iw, g)
                        lastChannel = channel
                    }
                    let dst = output + p * oh * ow
                    let w = weight + oc * taps
                    let b = bias?[oc] ?? 0
                    for y in 0..<oh {
                        let d = dst + y * ow
                        let base = UnsafePointer(phases) + y * sh * layout.width
                        var x = 0
                        if vector {
                            x = accumulate(
                                Wide.self, d, base: base, taps: tapOffset, tapCount: taps, w: w, b: b, from: x, to: ow)
                            // The remainder: one more vector ending at the row's end where the row
                            // is wide enough (it recomputes a few columns, to the same values).
                            if x < ow && ow >= Wide.scalarCount {
                                x = accumulate(
                                    Wide.self, d, base: base, taps: tapOffset, tapCount: taps, w: w, b: b,
                                    from: ow - Wide.scalarCount, to: ow)
                            }
                            x = accumulate(
                                Narrow.self, d, base: base, taps: tapOffset, tapCount: taps, w: w, b: b, from: x, to: ow
                            )
                            if x < ow && ow >= Narrow.scalarCount {
                                x = accumulate(
                                    Narrow.self, d, base: base, taps: tapOffset, tapCount: taps, w: w, b: b,
                                    from: ow - Narrow.scalarCount, to: ow)
                            }
                        }
                        while x < ow {
                            var acc = b
                            for t in 0..<taps { acc += w[t] * base[tapOffset[t] &+ x] }
                            d[x] = acc
                            x &+= 1
                        }
                    }
                }
            }
        }
    }
}

/// One input channel zero-padded and split into `stride.width` column phases: phase r, row v,
/// index j holds padded element (v, j·sw + r), i.e. input (v − padTop, j·sw + r − padLeft) or 0.
/// Rows and widths cover exactly what the output's taps read.
struct PaddedPhases {
    /// Padded rows: (outH − 1)·strideH + (kh − 1)·dilationH + 1.
    let height: Int
    /// Elements per phase row: outW + (kw − 1)·dilationW / strideW.
    let width: Int
    /// Elements of all phases.
    var count: Int { phaseCount * height * width }
    let phaseCount: Int

    init(_ g: ConvGeometry) {
        height = (g.output.height - 1) * g.stride.height + (g.kernel.height - 1) * g.dilation.height + 1
        width = g.output.width + (g.kernel.width - 1) * g.dilation.width / g.stride.width
        phaseCount = g.stride.width
    }

    /// Writes the phases of the `ih×iw` plane `src` into `phases` (`count` elements).
    @inline(__always)
    func fill<T: KernelScalar>(_ phases: UnsafeMutablePointer<T>, from src: UnsafePointer<T>, _ g: ConvGeometry) {
        let ih = g.input.height, iw = g.input.width, padT = g.padding.top, padL = g.padding.left
        let sw = phaseCount
        for r in 0..<sw {
            // Columns j with j·sw + r − padL in 0..<iw, i.e. j in lo..<hi.
            let cols = validOutputRange(outLength: width, inLength: iw, stride: sw, offset: r - padL)
            for v in 0..<height {
                let d = phases + (r * height + v) * width
                let iy = v - padT
                guard iy >= 0, iy < ih, !cols.isEmpty else {
                    d.update(repeating: 0, count: width)
                    continue
                }
                d.update(repeating: 0, count: cols.lowerBound)
                let s = src + iy * iw + r - padL
                if sw == 1 {
                    (d + cols.lowerBound).update(from: s + cols.lowerBound, count: cols.count)
                } else {
                    for j in cols { d[j] = s[j &* sw] }
                }
                (d + cols.upperBound).update(repeating: 0, count: width - cols.upperBound)
            }
        }
    }
}

/// Output columns `from..<to` of one row in steps of `V.scalarCount`; returns the first column
/// not computed (fewer than a vector left).
@inline(__always)
private func accumulate<T: KernelScalar, V: SIMD>(
    _: V.Type, _ d: UnsafeMutablePointer<T>, base: UnsafePointer<T>, taps: UnsafePointer<Int>, tapCount: Int,
    w: UnsafePointer<T>, b: T, from: Int, to: Int
) -> Int where V.Scalar == T {
    let lanes = V.scalarCount
    var x = from
    while x &+ lanes <= to {
        var acc = V(repeating: b)
        for t in 0..<tapCount {
            let v = UnsafeRawPointer(base + (taps[t] &+ x)).loadUnaligned(as: V.self)
            acc += V(repeating: w[t]) * v
        }
        UnsafeMutableRawPointer(d + x).storeBytes(of: acc, as: V.self)
        x &+= lanes
    }
    return x
}
