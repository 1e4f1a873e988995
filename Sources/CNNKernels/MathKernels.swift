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
        parallelGemm(transposeA: false, transposeB: false, m: batches * m, n: n, k: k, a: a + aOffsets[0], lda: k,
                     b: b + bOffsets[0], ldb: ldb, beta: 0, c: c, ldc: n)
        return
    }
    let perBatch = m * n * k
    if batches >= KernelThreads.count && threadsFor(batches, costPerItem: perBatch) > 1 {
        parallelFor(batches, costPerItem: perBatch) { range in
            for i in range {
                T.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a + aOffsets[i], lda: k,
                       b: b + bOffsets[i], ldb: ldb, beta: 0, c: c + i * m * n, ldc: n)
            }
        }
    } else {
        for i in 0..<batches {
            parallelGemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a + aOffsets[i], lda: k,
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
    if k == 0 { y.update(repeating: 0, count: m * n) } else {
        parallelGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
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
}

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
    var acc = [Double](repeating: 0, count: outputCount)
    acc.withUnsafeMutableBufferPointer { accBuffer in
        let acc = accBuffer.baseAddress!
        func each(_ body: (Int, Double) -> Void) {
            withoutActuallyEscaping(body) { body in traverse { i, o in body(o, Double(input[i])) } }
        }
        switch kind {
        case .sum, .mean: each { o, x in acc[o] += x }
        case .l1: each { o, x in acc[o] += abs(x) }
        case .l2, .sumSquare: each { o, x in acc[o] += x * x }
        case .logSum: each { o, x in acc[o] += x }
        case .prod:
            acc.update(repeating: 1, count: outputCount)
            each { o, x in acc[o] *= x }
        case .max:
            acc.update(repeating: -.infinity, count: outputCount)
            each { o, x in if x > acc[o] || x.isNaN { acc[o] = x } }
        case .min:
            acc.update(repeating: .infinity, count: outputCount)
            each { o, x in if x < acc[o] || x.isNaN { acc[o] = x } }
        case .logSumExp:
            // Shifted by each output's maximum so large inputs do not overflow.
            var top = [Double](repeating: -.infinity, count: outputCount)
            top.withUnsafeMutableBufferPointer { topBuffer in
                let top = topBuffer.baseAddress!
                each { o, x in if x > top[o] { top[o] = x } }
                each { o, x in acc[o] += Foundation_exp(x - (top[o].isFinite ? top[o] : 0)) }
                for o in 0..<outputCount { acc[o] = Foundation_log(acc[o]) + (top[o].isFinite ? top[o] : 0) }
            }
        }
        for o in 0..<outputCount {
            let v: Double
            switch kind {
            case .mean: v = acc[o] / Double(reduced)
            case .l2: v = acc[o].squareRoot()
            case .logSum: v = Foundation_log(acc[o])
            default: v = acc[o]
            }
            output[o] = T(v)
        }
    }
}

/// `reduce` over a contiguous block of axes: `input` is row-major `[outer, reduced, inner]` and
/// `output` `[outer, inner]`. The common case (a mean over H·W, a sum over the last axis) without
/// the general shape walk; rows split across threads; Double accumulators.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func reduce<T: KernelScalar>(
    _ kind: ReduceKind, input: UnsafePointer<T>, outer: Int, reduced: Int, inner: Int, output: UnsafeMutablePointer<T>
) {
    guard outer > 0, reduced > 0, inner > 0 else { return }
    let start: Double
    switch kind {
    case .prod: start = 1
    case .max, .logSumExp: start = -.infinity
    case .min: start = .infinity
    default: start = 0
    }
    parallelFor(outer, costPerItem: reduced * inner) { range in
        var accumulators = [Double](repeating: start, count: inner)
        var tops = [Double](repeating: -.infinity, count: kind == .logSumExp ? inner : 0)
        for o in range {
            let base = input + o * reduced * inner
            accumulators.withUnsafeMutableBufferPointer { acc in
                tops.withUnsafeMutableBufferPointer { top in
                    acc.update(repeating: start)
                    if kind == .logSumExp {
                        top.update(repeating: -.infinity)
                        for r in 0..<reduced { let row = base + r * inner; for i in 0..<inner { top[i] = max(top[i], Double(row[i])) } }
                        acc.update(repeating: 0)
                        for r in 0..<reduced {
                            let row = base + r * inner
                            for i in 0..<inner { acc[i] += Foundation_exp(Double(row[i]) - (top[i].isFinite ? top[i] : 0)) }
                        }
                    } else {
                        for r in 0..<reduced {
                            let row = base + r * inner
                            switch kind {
                            case .sum, .mean, .logSum: for i in 0..<inner { acc[i] += Double(row[i]) }
                            case .l1: for i in 0..<inner { acc[i] += abs(Double(row[i])) }
                            case .l2, .sumSquare: for i in 0..<inner { let x = Double(row[i]); acc[i] += x * x }
                            case .prod: for i in 0..<inner { acc[i] *= Double(row[i]) }
                            case .max: for i in 0..<inner { let x = Double(row[i]); if x > acc[i] || x.isNaN { acc[i] = x } }
                            case .min: for i in 0..<inner { let x = Double(row[i]); if x < acc[i] || x.isNaN { acc[i] = x } }
                            case .logSumExp: break
                            }
                        }
                    }
                    let dst = output + o * inner
                    for i in 0..<inner {
                        let v: Double
                        switch kind {
                        case .mean: v = acc[i] / Double(reduced)
                        case .l2: v = acc[i].squareRoot()
                        case .logSum: v = Foundation_log(acc[i])
                        case .logSumExp: v = Foundation_log(acc[i]) + (top[i].isFinite ? top[i] : 0)
                        default: v = acc[i]
                        }
                        dst[i] = T(v)
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
public func logSoftmax<T: KernelScalar>(input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
                                        outer: Int, length: Int, inner: Int) {
    forEachRow(outer * inner, cost: length * 10) { r in
        let o = r / inner, i = r % inner
        let src = input + o * length * inner + i, dst = output + o * length * inner + i
        var m = -T.infinity
        for k in 0..<length { m = max(m, src[k * inner]) }
        var sum = 0.0
        for k in 0..<length { sum += Double(T.exp(src[k * inner] - m)) }
        let shift = m + T(Foundation_log(sum))
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

@inline(__always) private func Foundation_exp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func Foundation_log(_ x: Double) -> Double { log(x) }
