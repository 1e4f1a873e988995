// Unary element-wise math and activations beyond `Activation` (ONNX Sqrt, Exp, Log, Erf, Gelu,
// Softplus, Mish, Elu, Selu, Celu, …) and the rounding of a value to a narrower float type
// (ONNX Cast to FLOAT16 / BFLOAT16 and back). Parameters are Double, rounded to the scalar once.

/// A unary function `applyUnary` computes.
public enum UnaryFunction: Sendable, Hashable {
    case sqrt, exp, log, abs, neg, reciprocal, erf
    /// ln(1 + e^x), without overflow for large x
    case softplus
    /// x · tanh(softplus(x))
    case mish
    /// x · Φ(x) = x/2 · (1 + erf(x/√2))
    case gelu
    /// x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))
    case geluTanh
    /// x if x ≥ 0, else alpha·(e^x − 1)
    case elu(alpha: Double)
    /// gamma·x if x > 0, else gamma·alpha·(e^x − 1)
    case selu(alpha: Double, gamma: Double)
    /// max(0, x) + min(0, alpha·(e^(x/alpha) − 1))
    case celu(alpha: Double)
    /// x / (1 + |x|)
    case softsign
    /// x + bias if x < −lambd, x − bias if x > lambd, else 0 (ONNX Shrink)
    case shrink(lambd: Double, bias: Double)
    /// The nearest IEEE half-precision value (ties to even), as this scalar.
    case roundToFloat16
    /// The nearest bfloat16 value (ties to even), as this scalar.
    case roundToBFloat16
}

/// Applies `f` to `count` elements; `output` may be `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func applyUnary<T: KernelScalar>(
    _ f: UnaryFunction, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>, count: Int
) {
    let cost: Int
    switch f {
    case .abs, .neg, .shrink, .roundToFloat16: cost = 1
    case .sqrt, .reciprocal, .softsign, .roundToBFloat16: cost = 2
    case .softplus, .mish: cost = 16
    default: cost = 8
    }
    forEachBlock(count, cost: cost) { s, n in unaryRun(f, input + s, output + s, n) }
}

/// One block of `f`: the switch is per block, each loop has its function inlined.
@inline(__always)
private func unaryRun<T: KernelScalar>(
    _ f: UnaryFunction, _ input: UnsafePointer<T>, _ output: UnsafeMutablePointer<T>, _ n: Int
) {
    @inline(__always) func map(_ g: (T) -> T) { for i in 0..<n { output[i] = g(input[i]) } }
    switch f {
    case .sqrt: map { $0.squareRoot() }
    case .exp: map { T.exp($0) }
    case .log: map { T.log($0) }
    case .abs: map { Swift.abs($0) }
    case .neg: map { -$0 }
    case .reciprocal: map { 1 / $0 }
    case .erf: map { T.erf($0) }
    case .softplus: map { softplus($0) }
    case .mish: map { x in x * T.tanh(softplus(x)) }
    case .gelu:
        let s = 1 / T(2).squareRoot()
        map { x in x / 2 * (1 + T.erf(x * s)) }
    case .geluTanh:
        let k = T((2 / Double.pi).squareRoot()), c = T(0.044715)
        map { x in x / 2 * (1 + T.tanh(k * (x + c * x * x * x))) }
    case .elu(let alpha):
        let a = T(alpha)
        map { x in x >= 0 ? x : a * T.expm1(x) }
    case .selu(let alpha, let gamma):
        let a = T(alpha), g = T(gamma)
        map { x in x > 0 ? g * x : g * (a * T.exp(x) - a) }
    case .celu(let alpha):
        let a = T(alpha)
        map { x in Swift.max(0, x) + Swift.min(0, a * T.expm1(x / a)) }
    case .softsign: map { x in x / (1 + Swift.abs(x)) }
    case .shrink(let lambd, let bias):
        let l = T(lambd), b = T(bias)
        map { x in x < -l ? x + b : (x > l ? x - b : 0) }
    case .roundToFloat16: map { roundedToFloat16($0) }
    case .roundToBFloat16: map { roundedToBFloat16($0) }
    }
}

/// ln(1 + e^x) written so that neither e^x overflows nor precision is lost for large |x|.
@inline(__always)
func softplus<T: KernelScalar>(_ x: T) -> T {
    x > 0 ? x + T.log1p(T.exp(-x)) : T.log1p(T.exp(x))
}

/// `x` rounded once to half precision (ties to even; beyond the range → ±inf; NaN stays NaN).
@inline(__always)
func roundedToFloat16<T: KernelScalar>(_ x: T) -> T {
    if let d = x as? Double { return T(Float(Float16(d))) }
    return T(Float(Float16(Float(x))))
}

/// `x` rounded once to bfloat16 (8 significant bits, float's exponent range; ties to even).
@inline(__always)
func roundedToBFloat16<T: KernelScalar>(_ x: T) -> T {
    if x.isNaN || x.isInfinite || x == 0 { return x }
    // Double: round its 53-bit significand to 8 bits directly (no double rounding through Float),
    // unless the result is a float subnormal, where Float's own rounding step comes first.
    if let d = x as? Double, Swift.abs(d) >= Double(Float.leastNormalMagnitude) {
        let bits = d.bitPattern, drop: UInt64 = 45
        let half = (UInt64(1) << (drop - 1)) - 1 + ((bits >> drop) & 1)
        let r = Double(bitPattern: (bits &+ half) & ~((UInt64(1) << drop) - 1))
        return T(Float(r))
    }
    let f = Float(x)
    let bits = f.bitPattern
    let half = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return T(Float(bitPattern: (bits &+ half) & 0xFFFF_0000))
}
