// Matrix products built on `KernelScalar.gemm` (single-threaded OpenBLAS): a GEMM split over
// threads by column or row blocks, the fully connected layer and a plain row-major matmul.

/// `C = op(A)·op(B) + beta·C` (row-major, as `KernelScalar.gemm`), split across
/// `KernelThreads.count` threads along N (columns of C) when N >= M, else along M, in blocks
/// of 16 so every thread's OpenBLAS micro-kernel runs on full vector tiles.
func parallelGemm<T: KernelScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    let block = 16
    let alongN = n >= m
    let length = alongN ? n : m
    let blocks = (length + block - 1) / block
    parallelFor(blocks, costPerItem: block * (alongN ? m : n) * max(k, 1)) { range in
        let lo = range.lowerBound * block, hi = min(length, range.upperBound * block)
        if alongN {
            T.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k,
                alpha: 1, a: a, lda: lda, b: transposeB ? b + lo * ldb : b + lo, ldb: ldb,
                beta: beta, c: c + lo, ldc: ldc)
        } else {
            T.gemm(
                transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k,
                alpha: 1, a: transposeA ? a + lo : a + lo * lda, lda: lda, b: b, ldb: ldb,
                beta: beta, c: c + lo * ldc, ldc: ldc)
        }
    }
}

/// Fully connected layer `output = input · weightᵀ + bias`.
///
/// - Parameters:
///   - input: `[batch, inFeatures]`, row-major.
///   - weight: `[outFeatures, inFeatures]` (PyTorch `nn.Linear`, ONNX Gemm with transB = 1).
///   - bias: `outFeatures` elements, or nil.
///   - output: `[batch, outFeatures]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func linear<T: KernelScalar>(
    input: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
    output: UnsafeMutablePointer<T>, batch: Int, inFeatures: Int, outFeatures: Int
) {
    if let bias {
        for n in 0..<batch { (output + n * outFeatures).update(from: bias, count: outFeatures) }
    }
    parallelGemm(
        transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
        a: input, lda: inFeatures, b: weight, ldb: inFeatures,
        beta: bias == nil ? 0 : 1, c: output, ldc: outFeatures)
}

/// Row-major `c[m×n] = a[m×k] · b[k×n]` (ONNX MatMul on 2-D operands).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func matmul<T: KernelScalar>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, into c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int
) {
    parallelGemm(
        transposeA: false, transposeB: false, m: m, n: n, k: k,
        a: a, lda: k, b: b, ldb: n, beta: 0, c: c, ldc: n)
}
