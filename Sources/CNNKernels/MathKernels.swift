// Kernels of the math tensor ops (TensorOps/Math): batched matrix products, GEMM with a
// broadcast C, reductions over any axes, log-softmax, and LayerNorm that also writes its
// per-row mean and inverse standard deviation. Graph-free: shapes arrive as plain integers and
// offset tables the caller prepared once.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `c[b] = a[b]·b[b]` for every batch matrix `b` (row-major `m×k` times `k×n`), where batch `i`
/// reads A at `aOffsets[i]` and B at `bOffsets[i]` (broadcast batches repeat an offset) and
/// writes C at `i·m·n`. `ldb` is B's row stride (`n`, or 1 for a 1-D B read as a column).
/// Batches run on separate threads when there are enough of them; a few large ones split their
/// rows or columns instead.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func batchedMatmul<T: KernelScalar>(
    _ a: UnsafePointer<T>, aOffsets: [Int], _ b: UnsafePointer<T>, bOffsets: [Int], ldb: Int,
    into c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int
) {
    let batches = aOffsets.count
    guard batches > 0, m > 0, n > 0 else { return }
    if k == 0 { c.update(repeating: 0, count: batches * m * n); return }
    // One B for every batch and A's batches back to back: one GEMM of (batches·m) rows.
    let sharedB = bOffsets.allSatisfy { $0 == bOffsets[0] }
    if sharedB, aOffsets.enumerated().allSatisfy({ $0.element == aOffsets[0] + $0.offset * m * k }) {
        parallelGemm(
            transposeA: false, transposeB: false, m: batches * m, n: n, k: k, a: a + aOffsets[0], lda: k,
            b: b + bOffsets[0], ldb: ldb, beta: 0, c: c, ldc: n)
        return
    }
    let perBatch = m * n * k
    if batches >= KernelThreads.count && threadsFor(batches, costPerItem: perBatch) > 1 {
        parallelFor(batches, costPerItem: perBatch) { range in
            for i in range {
                T.gemm(
                    transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a + aOffsets[i], lda: k,
                    b: b + bOffsets[i], ldb: ldb, beta: 0, c: c + i * m * n, ldc: n)
            }
        }
    } else {
        for i in 0..<batches {
            parallelGemm(
                transposeA: false, transposeB: false, m: m, n: n, k: k, a: a + aOffsets[i], lda: k,
                b: b + bOffsets[i], ldb: ldb, beta: 0, c: c + i * m * n, ldc: n)
        }
    }
}

/// ONNX Gemm: `y[m×n] = alpha·op(A)·op(B) + beta·C`, with C read at `cOffsets[i]` for output
/// element `i` (a broadcast C repeats offsets; nil C adds nothing). `lda`/`ldb` are the stored
/// row strides.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func gemm<T: KernelScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: T,
    a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafePointer<T>?, cOffsets: [Int], into y: UnsafeMutablePointer<T>
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        y.update(repeating: 0, count: m * n)
    } else {
        parallelGemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
            beta: 0, c: y, ldc: n)
    }
    if let c {
        for i in 0..<(m * n) { y[i] = alpha * y[i] + beta * c[cOffsets[i]] }
    } else if alpha != 1 {
        for i in 0..<(m * n) { y[i] *= alpha }
    }
}

/// How a reduction combines the values it reduces (ONNX Reduce*).
public enum ReduceKind: String, Sendable, CaseIterable {
    case sum, mean, max, min, prod, l1, l2, sumSquare, logSum, logSumExp

    /// The accumulator before any value (logSumExp sums e^(x − shift) from 0).
    @inline(__always) var start: Double {
        switch self {
        case .prod: return 1
        case .max: return -.infinity
        case .min: return .infinity
        default: return 0
        }
    }

    /// `x` folded into the accumulator `a`; logSumExp adds e^(x − shift), shift being the
    /// output's maximum (so large inputs do not overflow).
    @inline(__always) func combine(_ a: Double, _ x: Double, shift: Double) -> Double {
        switch self {
        case .sum, .mean, .logSum: return a + x
        case .l1: return a + abs(x)
        case .l2, .sumSquare: return a + x * x
        case .prod: return a * x
        case .max: return x > a || x.isNaN ? x : a
        case .min: return x < a || x.isNaN ? x : a
        case .logSumExp: return a + libmExp(x - shift)
        }
    }

    /// Two partial accumulators (of disjoint values) as one.
    @inline(__always) func merge(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .prod: return a * b
        case .max: return b > a || b.isNaN ? b : a
        case .min: return b < a || b.isNaN ? b : a
        default: return a + b
        }
    }

    /// The result from the accumulator of `count` values.
    @inline(__always) func finish(_ a: Double, count: Int, shift: Double) -> Double {
        switch self {
        case .mean: return a / Double(count)
        case .l2: return a.squareRoot()
        case .logSum: return libmLog(a)
        case .logSumExp: return libmLog(a) + shift
        default: return a
        }
    }
}

/// The shift logSumExp subtracts: the maximum, or 0 when that is not finite.
@inline(__always) private func logSumExpShift(_ top: Double) -> Double { top.isFinite ? top : 0 }

/// Reduces `input` into `output` (`outputCount` elements): `traverse` calls its argument with
/// (input offset, output offset) for every input element (the caller's shape walk, e.g.
/// `TensorShapes.forEachOffset` with 0 strides along the reduced axes); `reduced` is how many
/// inputs meet in one output. Accumulates in Double, so a Float32 mean over 10^5 elements keeps
/// its digits.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func reduce<T: KernelScalar>(
    _ kind: ReduceKind, input: UnsafePointer<T>, traverse: ((Int, Int) -> Void) -> Void, reduced: Int,
    output: UnsafeMutablePointer<T>, outputCount: Int
) {
    guard outputCount > 0 else { return }
    var acc = [Double](repeating: kind.start, count: outputCount)
    var shift = [Double](repeating: 0, count: outputCount)
    acc.withUnsafeMutableBufferPointer { acc in
        shift.withUnsafeMutableBufferPointer { shift in
            func each(_ body: (Int, Double) -> Void) {
                withoutActuallyEscaping(body) { body in traverse { i, o in body(o, Double(input[i])) } }
            }
            if kind == .logSumExp {
                shift.update(repeating: -.infinity)
                each { o, x in shift[o] = ReduceKind.max.combine(shift[o], x, shift: 0) }
                for o in 0..<outputCount { shift[o] = logSumExpShift(shift[o]) }
            }
            each { o, x in acc[o] = kind.combine(acc[o], x, shift: shift[o]) }
            for o in 0..<outputCount { output[o] = T(kind.finish(acc[o], count: reduced, shift: shift[o])) }
        }
    }
}

/// `reduce` over a contiguous block of axes: `input` is row-major `[outer, reduced, inner]` and
/// `output` `[outer, inner]`. The common case (a mean over H·W, a sum over the last axis) without
/// the general shape walk; rows split across threads; Double accumulators. A run reduced to one
/// value (inner = 1) is read as rows of 8 lanes, merged at the end, so the adds do not wait on
/// each other.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func reduce<T: KernelScalar>(
    _ kind: ReduceKind, input: UnsafePointer<T>, outer: Int, reduced: Int, inner: Int, output: UnsafeMutablePointer<T>
) {
    guard outer > 0, reduced > 0, inner > 0 else { return }
    let lanes = inner == 1 ? 8 : inner
    let rows = inner == 1 ? reduced / 8 : reduced
    parallelFor(outer, costPerItem: reduced * inner) { range in
        var accumulators = [Double](repeating: 0, count: lanes), shifts = accumulators
        accumulators.withUnsafeMutableBufferPointer { acc in
            shifts.withUnsafeMutableBufferPointer { shift in
                for o in range {
                    let base = input + o * reduced * inner
                    shift.update(repeating: 0)
                    if kind == .logSumExp {
                        shift.update(repeating: -.infinity)
                        for r in 0..<reduced {
                            for i in 0..<inner {
                                shift[i] = ReduceKind.max.combine(shift[i], Double(base[r * inner + i]), shift: 0)
                            }
                        }
                        for i in 0..<inner { shift[i] = logSumExpShift(shift[i]) }
                        if inner == 1 { shift.update(repeating: shift[0]) }
                    }
                    acc.update(repeating: kind.start)
                    // One loop per kind (the kind a constant inside it), over whole rows of lanes.
                    func run(_ combine: (Double, Double, Double) -> Double) {
                        for r in 0..<rows {
                            let row = base + r * lanes
                            for k in 0..<lanes { acc[k] = combine(acc[k], Double(row[k]), shift[k]) }
                        }
                        if inner == 1 {
                            for r in (rows * lanes)..<reduced { acc[0] = combine(acc[0], Double(base[r]), shift[0]) }
                        }
                    }
                    switch kind {
                    case .sum: run { ReduceKind.sum.combine($0, $1, shift: $2) }
                    case .mean: run { ReduceKind.mean.combine($0, $1, shift: $2) }
                    case .max: run { ReduceKind.max.combine($0, $1, shift: $2) }
                    case .min: run { ReduceKind.min.combine($0, $1, shift: $2) }
                    case .prod: run { ReduceKind.prod.combine($0, $1, shift: $2) }
                    case .l1: run { ReduceKind.l1.combine($0, $1, shift: $2) }
                    case .l2: run { ReduceKind.l2.combine($0, $1, shift: $2) }
                    case .sumSquare: run { ReduceKind.sumSquare.combine($0, $1, shift: $2) }
                    case .logSum: run { ReduceKind.logSum.combine($0, $1, shift: $2) }
                    case .logSumExp: run { ReduceKind.logSumExp.combine($0, $1, shift: $2) }
                    }
                    let dst = output + o * inner
                    if inner == 1 {
                        var total = acc[0]
                        for k in 1..<lanes { total = kind.merge(total, acc[k]) }
                        dst[0] = T(kind.finish(total, count: reduced, shift: shift[0]))
                    } else {
                        for i in 0..<inner { dst[i] = T(kind.finish(acc[i], count: reduced, shift: shift[i])) }
                    }
                }
            }
        }
    }
}

/// Log-softmax along the middle axis of a row-major `[outer, length, inner]` tensor:
/// `x − max − log Σ e^(x−max)`, the sum in Double.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func logSoftmax<T: KernelScalar>(
    input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    outer: Int, length: Int, inner: Int
) {
    forEachRow(outer * inner, cost: length * 10) { r in
        let o = r / inner, i = r % inner
        let src = input + o * length * inner + i, dst = output + o * length * inner + i
        let (m, sum) = expSumRow(src, length: length, stride: inner, exps: nil)
        let shift = m + T(libmLog(sum))
        for k in 0..<length { dst[k * inner] = src[k * inner] - shift }
    }
}

/// ONNX LayerNormalization on rows of `inner` contiguous values (`outer` rows): each row is
/// normalized, then `y·scale[scaleIndex[j]] + bias[biasIndex[j]]` for its `j`-th value (the
/// index tables express Scale's and B's broadcast to the row); `mean` and `invStdDev`, when
/// given, receive one value per row.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func layerNorm<T: KernelScalar>(
    input: UnsafePointer<T>, output: UnsafeMutablePointer<T>, outer: Int, inner: Int,
    scale: UnsafePointer<T>, scaleIndex: [Int], bias: UnsafePointer<T>?, biasIndex: [Int], epsilon: Double,
    mean: UnsafeMutablePointer<T>?, invStdDev: UnsafeMutablePointer<T>?
) {
    guard inner > 0 else { return }
    scaleIndex.withUnsafeBufferPointer { si in
        biasIndex.withUnsafeBufferPointer { bi in
            forEachRow(outer, cost: 4 * inner) { r in
                let stats = normalizeRun(input + r * inner, output + r * inner, count: inner, epsilon: epsilon) { j in
                    (scale[si[j]], bias.map { $0[bi[j]] } ?? 0)
                }
                mean?[r] = T(stats.mean)
                invStdDev?[r] = T(stats.invStdDev)
            }
        }
    }
}

@inline(__always) private func libmExp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func libmLog(_ x: Double) -> Double { log(x) }
