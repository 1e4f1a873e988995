// Spatial pooling on NCHW data: max and average over windows (stride, dilation, asymmetric
// padding, ceil mode), and global average / max over each whole channel plane.

/// The shape of a pooling window sliding over an NCHW input.
///
/// Output size per axis: `floor_or_ceil((in + padBegin + padEnd - dilation*(k-1) - 1)/stride) + 1`;
/// with `ceilMode`, a last window that would start in the end padding is dropped (the
/// PyTorch/ONNX rule: every window starts inside the input or the begin padding).
public struct PoolGeometry: Hashable, Sendable {
    /// Batch, channels and spatial size of the input; the output keeps batch and channels.
    public let input: Shape4D
    /// The window size.
    public let kernel: Size2D
    /// Steps between windows (defaults to the window size: non-overlapping windows).
    public let stride: Size2D
    /// Spacing between the window's taps, per axis (1: a dense window).
    public let dilation: Size2D
    /// Padding per side; padded cells never win a max and are left out of an average
    /// or counted in it as `averagePool2d`'s `countIncludePadding` says.
    public let padding: Padding2D
    /// Whether the output size rounds up (a partial last window is kept), PyTorch's `ceil_mode`.
    public let ceilMode: Bool
    /// The output shape.
    public let output: Shape4D

    /// Validates every size and computes the output shape; throws naming the bad value.
    public init(
        input: Shape4D, kernel: Size2D, stride: Size2D? = nil, dilation: Size2D = .one,
        padding: Padding2D = .zero, ceilMode: Bool = false
    ) throws(KernelError) {
        let stride = stride ?? kernel
        try requireValidWindow(
            input: input, channelsName: "channels", kernel: kernel, stride: stride,
            dilation: dilation, padding: padding)
        guard
            let oh = windowOutputLength(
                input: input.height, kernel: kernel.height, stride: stride.height,
                dilation: dilation.height, padBegin: padding.top,
                padEnd: padding.bottom, ceilMode: ceilMode),
            let ow = windowOutputLength(
                input: input.width, kernel: kernel.width, stride: stride.width,
                dilation: dilation.width, padBegin: padding.left,
                padEnd: padding.right, ceilMode: ceilMode),
            checkedProduct(input.batch, input.channels, input.height, input.width) != nil,
            checkedProduct(input.batch, input.channels, oh, ow, kernel.height, kernel.width) != nil
        else { throw .tooLarge("pooling \(kernel) stride \(stride) on \(input) padded \(padding)") }
        guard oh > 0, ow > 0 else { throw .emptyOutput("pooling \(kernel) on \(input) padded \(padding)") }
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.ceilMode = ceilMode
        self.output = Shape4D(batch: input.batch, channels: input.channels, height: oh, width: ow)
    }
}

/// Max pooling. Padding never wins (it acts as -infinity); a window lying wholly in padding
/// yields -infinity. NaN propagates, as in PyTorch and ONNX Runtime.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func maxPool2d<T: KernelScalar>(
    _ geometry: PoolGeometry, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>
) {
    let g = geometry
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    // Output positions whose whole window lies inside the input take an unchecked path.
    let yInner = validOutputRange(outLength: oh, inLength: ih - (kh - 1) * dh, stride: sh, offset: -padT)
    let xInner = validOutputRange(outLength: ow, inLength: iw - (kw - 1) * dw, stride: sw, offset: -padL)
    let is3x3 = kh == 3 && kw == 3 && dh == 1 && dw == 1
    parallelFor(g.input.batch * g.input.channels, costPerItem: oh * ow * kh * kw) { range in
        for p in range {
            let src = input + p * ih * iw
            let dst = output + p * oh * ow
            for y in 0..<oh {
                let y0 = y * sh - padT
                let d = dst + y * ow
                let inner = yInner.contains(y) ? xInner : 0..<0
                for x in 0..<ow where !inner.contains(x) {
                    let x0 = x * sw - padL
                    var m = -T.infinity
                    for ki in 0..<kh {
                        let yy = y0 + ki * dh
                        if yy < 0 || yy >= ih { continue }
                        let row = src + yy * iw
                        for kj in 0..<kw {
                            let xx = x0 + kj * dw
                            if xx < 0 || xx >= iw { continue }
                            let v = row[xx]
                            if v > m || v != v { m = v; if v != v { break } }
                        }
                        if m != m { break }
                    }
                    d[x] = m
                }
                if inner.isEmpty { continue }
                let r0 = src + y0 * iw - padL
                if is3x3 {
                    let r1 = r0 + iw, r2 = r1 + iw
                    for x in inner {
                        // x ∈ xInner: the window o…o+2 lies inside this row of the input plane,
                        // whose size PoolGeometry proved fits Int; unchecked arithmetic is exact.
                        let o = x &* sw
                        // max via `>` keeps a NaN out; the sum below detects one instead.
                        var m = r0[o]
                        var v = r0[o &+ 1]; m = v > m ? v : m
                        v = r0[o &+ 2]; m = v > m ? v : m
                        v = r1[o]; m = v > m ? v : m
                        v = r1[o &+ 1]; m = v > m ? v : m
                        v = r1[o &+ 2]; m = v > m ? v : m
                        v = r2[o]; m = v > m ? v : m
                        v = r2[o &+ 1]; m = v > m ? v : m
                        v = r2[o &+ 2]; m = v > m ? v : m
                        let nanProbe =
                            (r0[o] + r0[o &+ 1] + r0[o &+ 2]) + (r1[o] + r1[o &+ 1] + r1[o &+ 2])
                            + (r2[o] + r2[o &+ 1] + r2[o &+ 2])
                        d[x] = nanProbe != nanProbe && windowHasNaN(r0 + o, r1 + o, r2 + o) ? .nan : m
                    }
                } else {
                    for x in inner {
                        var m = -T.infinity
                        var nan = false
                        for ki in 0..<kh {
                            let row = r0 + ki * dh * iw + x * sw
                            for kj in 0..<kw {
                                let v = row[kj * dw]
                                m = v > m ? v : m
                                nan = nan || v != v
                            }
                        }
                        d[x] = nan ? .nan : m
                    }
                }
            }
        }
    }
}

/// Whether a 3x3 window holds a NaN. Called only when the window's sum is NaN, which
/// `inf + -inf` also produces.
@inline(never)
func windowHasNaN<T: KernelScalar>(_ r0: UnsafePointer<T>, _ r1: UnsafePointer<T>, _ r2: UnsafePointer<T>) -> Bool {
    for i in 0..<3 where r0[i].isNaN || r1[i].isNaN || r2[i].isNaN { return true }
    return false
}

/// Average pooling. With `countIncludePadding`, the divisor counts window taps that fall in the
/// input or its padding (not taps beyond the end padding, which ceil mode can create), as
/// PyTorch does; without it, only taps inside the input. A window with no tap to count yields 0.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func averagePool2d<T: KernelScalar>(
    _ geometry: PoolGeometry, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>, countIncludePadding: Bool
) {
    let g = geometry
    let kh = g.kernel.height, kw = g.kernel.width
    let sh = g.stride.height, sw = g.stride.width, dh = g.dilation.height, dw = g.dilation.width
    let ih = g.input.height, iw = g.input.width, oh = g.output.height, ow = g.output.width
    let padT = g.padding.top, padL = g.padding.left
    let padB = g.padding.bottom, padR = g.padding.right
    // Reciprocal divisor per output position: (counted rows of y) · (counted columns of x).
    func counted(_ o: Int, _ s: Int, _ d: Int, _ k: Int, _ pb: Int, _ pe: Int, _ n: Int) -> Int {
        var c = 0
        for t in 0..<k {
            let i = o * s - pb + t * d
            if countIncludePadding ? (i >= -pb && i < n + pe) : (i >= 0 && i < n) { c += 1 }
        }
        return c
    }
    withUnsafeTemporaryAllocation(of: T.self, capacity: oh * ow) { inverse in
        let inv = inverse.baseAddress!
        for y in 0..<oh {
            let rows = counted(y, sh, dh, kh, padT, padB, ih)
            for x in 0..<ow {
                let n = rows * counted(x, sw, dw, kw, padL, padR, iw)
                inv[y * ow + x] = n == 0 ? 0 : 1 / T(n)
            }
        }
        let invC = UnsafePointer(inv)
        parallelFor(g.input.batch * g.input.channels, costPerItem: oh * ow * kh * kw) { range in
            for p in range {
                let src = input + p * ih * iw
                let dst = output + p * oh * ow
                dst.update(repeating: 0, count: oh * ow)
                for ki in 0..<kh {
                    let yRange = validOutputRange(outLength: oh, inLength: ih, stride: sh, offset: ki * dh - padT)
                    for kj in 0..<kw {
                        let xOffset = kj * dw - padL
                        let xRange = validOutputRange(outLength: ow, inLength: iw, stride: sw, offset: xOffset)
                        for y in yRange {
                            let s = src + (y * sh + ki * dh - padT) * iw + xOffset
                            let d = dst + y * ow
                            for x in xRange { d[x] += s[x * sw] }
                        }
                    }
                }
                for i in 0..<(oh * ow) { dst[i] *= invC[i] }
            }
        }
    }
}

/// Sum of `count` values with eight independent accumulators (a serial sum is latency-bound).
@inline(__always)
func fastSum<T: KernelScalar>(_ p: UnsafePointer<T>, _ count: Int) -> T {
    var a0: T = 0, a1: T = 0, a2: T = 0, a3: T = 0, a4: T = 0, a5: T = 0, a6: T = 0, a7: T = 0
    var i = 0
    while i + 8 <= count {
        a0 += p[i]; a1 += p[i + 1]; a2 += p[i + 2]; a3 += p[i + 3]
        a4 += p[i + 4]; a5 += p[i + 5]; a6 += p[i + 6]; a7 += p[i + 7]
        i += 8
    }
    while i < count { a0 += p[i]; i += 1 }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}

/// Mean over each channel plane: `[N, C, H, W] -> [N, C, 1, 1]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func globalAveragePool<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>
) {
    let plane = shape.spatial
    parallelFor(shape.batch * shape.channels, costPerItem: plane) { range in
        for p in range {
            output[p] = fastSum(input + p * plane, plane) / T(plane)
        }
    }
}

/// Maximum over each channel plane: `[N, C, H, W] -> [N, C, 1, 1]`. NaN propagates.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func globalMaxPool<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>
) {
    let plane = shape.spatial
    parallelFor(shape.batch * shape.channels, costPerItem: plane) { range in
        for p in range {
            let src = input + p * plane
            var m = -T.infinity
            for i in 0..<plane where src[i] > m || src[i].isNaN { m = src[i] }
            output[p] = m
        }
    }
}
