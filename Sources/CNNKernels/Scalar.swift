// The element types the kernels run on: Float (the fast path) and Double (the high-precision
// reference mode). Everything a kernel needs from its scalar that the standard library does not
// give generically (GEMM, exp, tanh, pow) is a requirement of `KernelScalar`.
//
// Conventions of the whole CNNKernels module:
// - Data is dense row-major; 4-D tensors are NCHW. Kernels take `UnsafePointer` inputs and an
//   `UnsafeMutablePointer` output that the caller owns and has sized as documented (usually
//   from a validated geometry struct: `ConvGeometry`, `PoolGeometry`, ...). Kernels never
//   allocate per element; scratch comes from a caller-held `Workspace`.
// - Geometry structs validate in their throwing initializers; a kernel given a valid geometry
//   and correctly sized buffers cannot go out of bounds. Other argument errors throw
//   `KernelError`.
// - Threads: `KernelThreads.count` (default: all online processors). OpenBLAS is kept
//   single-threaded and the kernels split the work themselves.
// - Every public generic kernel is pre-specialized (`@_specialize`) for Float and Double, so
//   calls from other modules run specialized code.

import CBLAS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A scalar the kernels are generic over. Only `Float` and `Double` conform; every public
/// kernel is pre-specialized for both, so a generic call from another module runs specialized
/// code rather than going through witness tables per element.
public protocol KernelScalar: BinaryFloatingPoint, SIMDScalar, Sendable {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C`, with `op(A)` of shape `m×k`, `op(B)`
    /// of shape `k×n` and `C` of shape `m×n`; `lda`, `ldb`, `ldc` are the row strides of the
    /// matrices *as stored* (before transposition). Forwards to OpenBLAS `cblas_?gemm`,
    /// single-threaded: use `parallelGemm` (internal) or split the work yourself for threads.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// e^x
    static func exp(_ x: Self) -> Self
    /// Hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// x^y
    static func pow(_ x: Self, _ y: Self) -> Self
    /// Natural logarithm.
    static func log(_ x: Self) -> Self
    /// ln(1 + x), accurate near 0.
    static func log1p(_ x: Self) -> Self
    /// e^x − 1, accurate near 0.
    static func expm1(_ x: Self) -> Self
    /// The error function.
    static func erf(_ x: Self) -> Self
}

// File-level wrappers: inside the extensions below, `exp` would name the static requirement.
@inline(__always) private func libmExp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func libmTanh(_ x: Double) -> Double { tanh(x) }
@inline(__always) private func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
@inline(__always) private func libmLog(_ x: Double) -> Double { log(x) }
@inline(__always) private func libmLog1p(_ x: Double) -> Double { log1p(x) }
@inline(__always) private func libmExpm1(_ x: Double) -> Double { expm1(x) }
@inline(__always) private func libmErf(_ x: Double) -> Double { erf(x) }

@inline(__always)
private func blasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: KernelScalar {
    /// e^x in single precision: the C library's `expf` (the `KernelScalar` requirement).
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    /// The C library's `tanhf`.
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    /// The C library's `powf`.
    @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    /// The C library's `logf`.
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    /// The C library's `log1pf`.
    @inline(__always) public static func log1p(_ x: Float) -> Float { log1pf(x) }
    /// The C library's `expm1f`.
    @inline(__always) public static func expm1(_ x: Float) -> Float { expm1f(x) }
    /// The C library's `erff`.
    @inline(__always) public static func erf(_ x: Float) -> Float { erff(x) }

    /// OpenBLAS `cblas_sgemm`, kept single-threaded (see the requirement's contract).
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = openBLASSingleThreaded
        cblas_sgemm(
            CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }
}

extension Double: KernelScalar {
    /// e^x in double precision: the C library's `exp` (the `KernelScalar` requirement).
    @inline(__always) public static func exp(_ x: Double) -> Double { libmExp(x) }
    /// The C library's `tanh`.
    @inline(__always) public static func tanh(_ x: Double) -> Double { libmTanh(x) }
    /// The C library's `pow`.
    @inline(__always) public static func pow(_ x: Double, _ y: Double) -> Double { libmPow(x, y) }
    /// The C library's `log`.
    @inline(__always) public static func log(_ x: Double) -> Double { libmLog(x) }
    /// The C library's `log1p`.
    @inline(__always) public static func log1p(_ x: Double) -> Double { libmLog1p(x) }
    /// The C library's `expm1`.
    @inline(__always) public static func expm1(_ x: Double) -> Double { libmExpm1(x) }
    /// The C library's `erf`.
    @inline(__always) public static func erf(_ x: Double) -> Double { libmErf(x) }

    /// OpenBLAS `cblas_dgemm`, kept single-threaded (see the requirement's contract).
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = openBLASSingleThreaded
        cblas_dgemm(
            CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }
}
