// Element-wise and data-movement kernels: activations, per-channel affine, n-ary add,
// multiplication (same shape and per-channel broadcast), concat, softmax, channel shuffle.
// Unless a doc comment says otherwise, `output` may be the same buffer as `input` (in place).

/// A pointwise activation. Parameters are Double; they are rounded to the kernel's scalar once.
public enum Activation: Hashable, Sendable {
    /// max(0, x)
    case relu
    /// min(max(x, min), max) (max wins when min > max)
    case clip(min: Double, max: Double)
    /// x if x >= 0, else alpha·x
    case leakyRelu(alpha: Double)
    /// 1 / (1 + e^-x)
    case sigmoid
    /// tanh x
    case tanh
    /// max(0, min(1, alpha·x + beta)) (ONNX defaults alpha = 0.2, beta = 0.5; PyTorch 1/6, 1/2)
    case hardSigmoid(alpha: Double, beta: Double)
    /// x · max(0, min(1, x/6 + 1/2))
    case hardSwish
    /// x · sigmoid(x) (a.k.a. swish)
    case silu
}

/// Elements processed per parallel chunk item in flat element-wise loops.
private let flatBlock = 4096

/// Runs `body(start, count)` over `0..<count` in blocks, in parallel when large.
@inline(__always)
func forEachBlock(_ count: Int, cost: Int = 1, _ body: (Int, Int) -> Void) {
    let blocks = (count + flatBlock - 1) / flatBlock
    parallelFor(blocks, costPerItem: flatBlock * cost) { range in
        let start = range.lowerBound * flatBlock
        let end = min(count, range.upperBound * flatBlock)
        body(start, end - start)
    }
}

/// Applies `activation` to `count` elements.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func activate<T: KernelScalar>(
    _ activation: Activation, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>, count: Int
) {
    switch activation {
    case .relu:
        forEachBlock(count) { s, n in
            for i in s..<(s + n) { let v = input[i]; output[i] = v > 0 ? v : (v.isNaN ? v : 0) }
        }
    case .clip(let lo, let hi):
        let lo = T(lo), hi = T(hi)
        forEachBlock(count) { s, n in
            // ONNX's order, min(max(x, lo), hi): every element is hi when lo > hi.
            for i in s..<(s + n) { let v = input[i]; let c = v < lo ? lo : v; output[i] = c > hi ? hi : c }
        }
    case .leakyRelu(let alpha):
        let a = T(alpha)
        forEachBlock(count) { s, n in
            for i in s..<(s + n) { let v = input[i]; output[i] = v >= 0 ? v : a * v }
        }
    case .sigmoid:
        forEachBlock(count, cost: 8) { s, n in
            for i in s..<(s + n) { output[i] = sigmoid(input[i]) }
        }
    case .tanh:
        forEachBlock(count, cost: 8) { s, n in
            for i in s..<(s + n) { output[i] = T.tanh(input[i]) }
        }
    case .hardSigmoid(let alpha, let beta):
        let a = T(alpha), b = T(beta)
        forEachBlock(count) { s, n in
            for i in s..<(s + n) { output[i] = min(max(a * input[i] + b, 0), 1) }
        }
    case .hardSwish:
        let sixth = 1 / T(6), half = 1 / T(2)
        forEachBlock(count) { s, n in
            for i in s..<(s + n) { let v = input[i]; output[i] = v * min(max(v * sixth + half, 0), 1) }
        }
    case .silu:
        forEachBlock(count, cost: 8) { s, n in
            for i in s..<(s + n) { let v = input[i]; output[i] = v * sigmoid(v) }
        }
    }
}

/// Logistic function, written to avoid overflow in e^-x for large negative x.
@inline(__always)
func sigmoid<T: KernelScalar>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
}

/// Per-channel affine `y = scale[c]·x + shift[c]` on NCHW data (a BatchNorm that could not be
/// folded, precomputed). `shift` may be nil (no shift).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func channelAffine<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>,
    scale: UnsafePointer<T>, shift: UnsafePointer<T>?
) {
    let plane = shape.spatial, channels = shape.channels
    parallelFor(shape.batch * channels, costPerItem: plane) { range in
        for p in range {
            let c = p % channels
            let a = scale[c], b = shift?[c] ?? 0
            let src = input + p * plane, dst = output + p * plane
            for i in 0..<plane { dst[i] = a * src[i] + b }
        }
    }
}

/// Element-wise sum of `inputs` (all of `count` elements). `output` may alias any input.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func add<T: KernelScalar>(_ inputs: [UnsafePointer<T>], output: UnsafeMutablePointer<T>, count: Int) {
    guard let first = inputs.first else {
        output.update(repeating: 0, count: count)
        return
    }
    inputs.withUnsafeBufferPointer { ins in
        forEachBlock(count) { s, n in
            if ins.count == 2 {
                let a = ins[0], b = ins[1]
                for i in s..<(s + n) { output[i] = a[i] + b[i] }
                return
            }
            for i in s..<(s + n) { output[i] = first[i] }
            for k in 1..<max(1, ins.count) {
                let x = ins[k]
                for i in s..<(s + n) { output[i] += x[i] }
            }
        }
    }
}

/// `output = factor · input` over `count` elements (e.g. classic dropout's inference rule,
/// factor = keepProbability).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func scale<T: KernelScalar>(
    input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    count: Int, by factor: Double
) {
    let f = T(factor)
    forEachBlock(count) { s, n in
        for i in s..<(s + n) { output[i] = f * input[i] }
    }
}

/// Element-wise product of two same-shape tensors.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func multiply<T: KernelScalar>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>, count: Int
) {
    forEachBlock(count) { s, n in
        for i in s..<(s + n) { output[i] = a[i] * b[i] }
    }
}

/// `output[n,c,h,w] = input[n,c,h,w] · scale[n,c]`: the broadcast product `[N,C,H,W] * [N,C,1,1]`
/// of squeeze-and-excitation blocks. `scale` has `batch·channels` elements.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func multiplyChannels<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>,
    scale: UnsafePointer<T>, output: UnsafeMutablePointer<T>
) {
    let plane = shape.spatial
    parallelFor(shape.batch * shape.channels, costPerItem: plane) { range in
        for p in range {
            let a = scale[p]
            let src = input + p * plane, dst = output + p * plane
            for i in 0..<plane { dst[i] = a * src[i] }
        }
    }
}

/// Splits a dense row-major shape at `axis` into (outer, length of axis, inner).
func splitShape(_ shape: [Int], axis: Int) throws(KernelError) -> (outer: Int, axis: Int, inner: Int) {
    guard axis >= 0 && axis < shape.count else { throw .axisOutOfRange(axis: axis, rank: shape.count) }
    var outer = 1, inner = 1
    for i in 0..<axis { outer *= shape[i] }
    for i in (axis + 1)..<shape.count { inner *= shape[i] }
    return (outer, shape[axis], inner)
}

/// Concatenates row-major tensors along `axis`. All shapes must agree except on `axis`;
/// `output` holds the concatenated shape and must not overlap any input.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func concat<T: KernelScalar>(
    _ inputs: [(data: UnsafePointer<T>, shape: [Int])], axis: Int,
    output: UnsafeMutablePointer<T>
) throws(KernelError) {
    guard let first = inputs.first else { return }
    let rank = first.shape.count
    guard axis >= 0 && axis < rank else { throw .axisOutOfRange(axis: axis, rank: rank) }
    var total = 0
    for item in inputs {
        guard item.shape.count == rank else { throw .shapeMismatch("concat of rank \(rank) and \(item.shape)") }
        for d in 0..<rank where d != axis && item.shape[d] != first.shape[d] {
            throw .shapeMismatch("concat along axis \(axis) of \(first.shape) and \(item.shape)")
        }
        total += item.shape[axis]
    }
    let (outer, _, inner) = try splitShape(first.shape, axis: axis)
    let outRow = total * inner
    var offset = 0
    for item in inputs {
        let chunk = item.shape[axis] * inner
        let src = item.data
        let dst = output + offset
        forEachRow(outer, cost: chunk) { o in
            (dst + o * outRow).update(from: src + o * chunk, count: chunk)
        }
        offset += chunk
    }
}

@inline(__always)
func forEachRow(_ rows: Int, cost: Int, _ body: (Int) -> Void) {
    parallelFor(rows, costPerItem: cost) { range in for r in range { body(r) } }
}

/// Softmax along `axis` of a row-major tensor of `shape`: `e^(x-max) / Σ e^(x-max)`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func softmax<T: KernelScalar>(
    input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    shape: [Int], axis: Int
) throws(KernelError) {
    let (outer, length, inner) = try splitShape(shape, axis: axis)
    forEachRow(outer * inner, cost: length * 10) { r in
        let o = r / inner, i = r % inner
        let src = input + o * length * inner + i, dst = output + o * length * inner + i
        let (_, sum) = expSumRow(src, length: length, stride: inner, exps: dst)
        let inv = T(1 / sum)
        for k in 0..<length { dst[k * inner] *= inv }
    }
}

/// The largest value of a strided row and Σ e^(x − max) over it, writing each e^(x − max) to
/// `exps` when given (softmax and log-softmax share it). The sum is in Double: over a long axis
/// (18,385 classes in PP-OCRv5's recognizer) a Float running sum drifts by ~1e-4 of the result,
/// ten times onnxruntime's error.
@inline(__always)
func expSumRow<T: KernelScalar>(
    _ src: UnsafePointer<T>, length: Int, stride: Int,
    exps: UnsafeMutablePointer<T>?
) -> (max: T, sum: Double) {
    var m = -T.infinity
    for k in 0..<length { m = max(m, src[k * stride]) }
    var sum = 0.0
    for k in 0..<length {
        let e = T.exp(src[k * stride] - m)
        exps?[k * stride] = e
        sum += Double(e)
    }
    return (m, sum)
}

/// ShuffleNet channel shuffle: view the channels as `[groups, C/groups]`, transpose to
/// `[C/groups, groups]`. Input channel `g·(C/groups) + j` goes to output channel `j·groups + g`.
/// `output` must not overlap `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func channelShuffle<T: KernelScalar>(
    _ shape: Shape4D, groups: Int, input: UnsafePointer<T>,
    output: UnsafeMutablePointer<T>
) throws(KernelError) {
    try requirePositive("groups", groups)
    guard shape.channels % groups == 0 else {
        throw .groupsDoNotDivide(channels: shape.channels, groups: groups)
    }
    let perGroup = shape.channels / groups, plane = shape.spatial, channels = shape.channels
    forEachRow(shape.batch * channels, cost: plane) { p in
        let n = p / channels, c = p % channels
        let g = c / perGroup, j = c % perGroup
        (output + (n * channels + j * groups + g) * plane).update(from: input + p * plane, count: plane)
    }
}
