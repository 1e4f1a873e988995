// Matrix products built on `KernelScalar.gemm` (OpenBLAS): the fully connected layer and a
// plain row-major matmul.

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
    T.gemm(transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
           alpha: 1, a: input, lda: inFeatures, b: weight, ldb: inFeatures,
           beta: bias == nil ? 0 : 1, c: output, ldc: outFeatures)
}

/// Row-major `c[m×n] = a[m×k] · b[k×n]` (ONNX MatMul on 2-D operands).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func matmul<T: KernelScalar>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, into c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int
) {
    T.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k,
           alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: c, ldc: n)
}
