// Binary element-wise arithmetic with numpy broadcasting (ONNX Add/Sub/Mul/Div/Pow/Max/Min/
// PRelu, and the n-ary Sum/Mean/Max/Min as a chain of them).
//
// A `BroadcastPlan` is made once per shape: it drops the axes of size 1, then merges neighbouring
// axes along which both operands advance as one contiguous run, so that the common cases reduce
// to a few shapes of loop:
// - same shape, or one operand a scalar: one flat loop (`[n]`, strides 1/1, 1/0 or 0/1);
// - a per-channel operand, [N,C,H,W] ∘ [1,C,1,1]: rows of H·W against one value each;
// - a trailing-axis operand, [B,T,D] ∘ [D]: rows of D against the same D values;
// and anything else runs the same row loop over a strided outer index (the general fallback).
// The innermost merged axis always has stride 0 or 1 in each operand, so the row loops are
// contiguous and vectorize.

/// A binary function the broadcasting kernel applies.
public enum BinaryFunction: Sendable, Hashable {
    case add, sub, mul, div
    /// a^b
    case pow
    case max, min
    /// a if a ≥ 0, else a·b (b is the slope; ONNX PRelu)
    case prelu
}

/// How two operands broadcast to an output shape, merged into as few axes as possible.
public struct BroadcastPlan: Sendable, Equatable {
    /// Output elements.
    public let count: Int
    /// The merged output shape (at least one axis).
    let shape: [Int]
    /// Each operand's strides along the merged axes (0 where it is stretched).
    let aStrides: [Int], bStrides: [Int]

    /// The plan for `a` and `b` broadcast to `output` (every operand axis equal to the output's
    /// or 1, aligned at the right). Throws when they do not broadcast or a count overflows.
    public init(a: [Int], b: [Int], output: [Int]) throws(KernelError) {
        guard a.count <= output.count, b.count <= output.count else {
            throw .shapeMismatch("\(a) and \(b) have more axes than their broadcast \(output)")
        }
        func strides(_ s: [Int]) throws(KernelError) -> [Int] {
            let pad = output.count - s.count
            var out = [Int](repeating: 0, count: output.count)
            var acc = 1
            for k in s.indices.reversed() {
                let d = s[k], o = output[pad + k]
                guard d == o || d == 1 else { throw .shapeMismatch("\(s) does not broadcast to \(output)") }
                out[pad + k] = d == 1 ? 0 : acc
                let (m, overflow) = acc.multipliedReportingOverflow(by: d)
                guard !overflow else { throw .tooLarge("broadcast of \(s)") }
                acc = m
            }
            return out
        }
        let sa = try strides(a), sb = try strides(b)
        var total = 1
        for d in output {
            guard d >= 1 else { throw .nonPositive("broadcast output dimension", d) }
            let (m, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .tooLarge("broadcast output \(output)") }
            total = m
        }
        // Merge from the innermost axis out; size-1 output axes vanish.
        var shape: [Int] = [], ra: [Int] = [], rb: [Int] = []
        for i in output.indices.reversed() where output[i] != 1 {
            if let d = shape.last, let xa = ra.last, let xb = rb.last, sa[i] == xa * d, sb[i] == xb * d {
                shape[shape.count - 1] = d * output[i]
            } else {
                shape.append(output[i]); ra.append(sa[i]); rb.append(sb[i])
            }
        }
        if shape.isEmpty { shape = [1]; ra = [0]; rb = [0] }
        count = total
        self.shape = shape.reversed(); aStrides = ra.reversed(); bStrides = rb.reversed()
    }
}

/// `output[i] = f(a[…], b[…])` over the plan's output, in row-major order. `output` must be
/// dense at the output shape; it may be the same buffer as `a` or `b` when that operand has the
/// full output shape.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func broadcastBinary<T: KernelScalar>(
    _ f: BinaryFunction, _ plan: BroadcastPlan, _ a: UnsafePointer<T>,
    _ b: UnsafePointer<T>, output: UnsafeMutablePointer<T>
) {
    let cost = f == .pow ? 16 : f == .div ? 2 : 1
    forEachRun(plan, cost: cost) { ao, sa, bo, sb, o, n in binaryRun(f, a + ao, sa, b + bo, sb, output + o, n) }
}

/// Writes `source` (of `shape`) broadcast to the plan's output shape: `output[i] = source[…]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func broadcastCopy<T: KernelScalar>(
    _ plan: BroadcastPlan, _ source: UnsafePointer<T>, output: UnsafeMutablePointer<T>
) {
    forEachRun(plan, cost: 1) { ao, sa, _, _, o, n in
        let src = source + ao, dst = output + o
        if sa == 1 { dst.update(from: src, count: n) } else { dst.update(repeating: src[0], count: n) }
    }
}

/// Calls `body(aOffset, aStride, bOffset, bStride, outputOffset, count)` for every contiguous
/// run of the plan's output (strides 0 or 1), in parallel when large.
@inline(__always)
private func forEachRun(_ plan: BroadcastPlan, cost: Int, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
    let rank = plan.shape.count
    let inner = plan.shape[rank - 1], sa = plan.aStrides[rank - 1], sb = plan.bStrides[rank - 1]
    let rows = plan.count / inner
    if rows == 1 {
        forEachBlock(inner, cost: cost) { s, n in body(s * sa, sa, s * sb, sb, s, n) }
        return
    }
    let shape = plan.shape, aStrides = plan.aStrides, bStrides = plan.bStrides
    parallelFor(rows, costPerItem: inner * cost) { range in
        // The outer index of the first row, then advanced one row at a time.
        var index = [Int](repeating: 0, count: rank - 1)
        var rest = range.lowerBound, ao = 0, bo = 0
        for k in stride(from: rank - 2, through: 0, by: -1) {
            index[k] = rest % shape[k]; rest /= shape[k]
            ao += index[k] * aStrides[k]; bo += index[k] * bStrides[k]
        }
        for r in range {
            body(ao, sa, bo, sb, r * inner, inner)
            var k = rank - 2
            while k >= 0 {
                index[k] += 1; ao += aStrides[k]; bo += bStrides[k]
                if index[k] < shape[k] { break }
                ao -= aStrides[k] * shape[k]; bo -= bStrides[k] * shape[k]
                index[k] = 0
                k -= 1
            }
        }
    }
}

/// One contiguous run of `f`: the switch is per run, each loop has its function inlined.
@inline(__always)
private func binaryRun<T: KernelScalar>(
    _ f: BinaryFunction, _ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
    _ out: UnsafeMutablePointer<T>, _ n: Int
) {
    switch f {
    case .add: row(a, sa, b, sb, out, n) { $0 + $1 }
    case .sub: row(a, sa, b, sb, out, n) { $0 - $1 }
    case .mul: row(a, sa, b, sb, out, n) { $0 * $1 }
    case .div: row(a, sa, b, sb, out, n) { $0 / $1 }
    case .pow: row(a, sa, b, sb, out, n) { T.pow($0, $1) }
    // NaN propagates (as numpy's maximum/minimum and onnxruntime do).
    case .max: row(a, sa, b, sb, out, n) { x, y in x.isNaN || x > y ? x : y }
    case .min: row(a, sa, b, sb, out, n) { x, y in x.isNaN || x < y ? x : y }
    case .prelu: row(a, sa, b, sb, out, n) { x, s in x < 0 ? x * s : x }
    }
}

/// One contiguous run: each operand advances by 1 or stays (stride 0).
@inline(__always)
private func row<T: KernelScalar>(
    _ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
    _ out: UnsafeMutablePointer<T>, _ n: Int, _ f: (T, T) -> T
) {
    if sa == 1 && sb == 1 {
        for i in 0..<n { out[i] = f(a[i], b[i]) }
    } else if sa == 1 && sb == 0 {
        let y = b[0]
        for i in 0..<n { out[i] = f(a[i], y) }
    } else if sa == 0 && sb == 1 {
        let x = a[0]
        for i in 0..<n { out[i] = f(x, b[i]) }
    } else {
        for i in 0..<n { out[i] = f(a[i &* sa], b[i &* sb]) }
    }
}
