// Normalization kernels on NCHW (or row-major) data: BatchNorm in inference mode (running
// statistics) and training mode (batch statistics), LayerNorm, GroupNorm, InstanceNorm and
// local response normalization. Statistics accumulate in Double for both scalar types.

/// The factor a BatchNorm multiplies each channel by, γ/√(σ²+ε) (running or batch σ²), in Double: one
/// formula for the kernel, the executor's fusions and the fold passes, so that a folded model
/// and the model it came from scale each channel by the same number.
@inline(__always)
public func batchNormFactor(scale: Double, variance: Double, epsilon: Double) -> Double {
    scale / (variance + epsilon).squareRoot()
}

/// BatchNorm with running statistics: `y = scale[c]·(x − runningMean[c])/√(runningVariance[c] + ε) + bias[c]`.
/// `output` may be `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func batchNormInference<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    scale: UnsafePointer<T>, bias: UnsafePointer<T>,
    runningMean: UnsafePointer<T>, runningVariance: UnsafePointer<T>, epsilon: Double
) {
    let plane = shape.spatial, channels = shape.channels
    parallelFor(shape.batch * channels, costPerItem: plane) { range in
        for p in range {
            let c = p % channels
            let a = T(batchNormFactor(scale: Double(scale[c]), variance: Double(runningVariance[c]), epsilon: epsilon))
            let m = runningMean[c], b = bias[c]
            let src = input + p * plane, dst = output + p * plane
            for i in 0..<plane { dst[i] = (src[i] - m) * a + b }
        }
    }
}

/// BatchNorm in training mode: normalizes with the mini-batch statistics of each channel
/// (mean and *biased* variance over N, H, W) and reports them for the running-statistics
/// update `running = (1 − momentum)·running + momentum·batch`.
///
/// - Parameters:
///   - batchMean: receives the `channels` batch means.
///   - batchVariance: receives the `channels` *unbiased* batch variances (Σ(x−mean)²/(m−1),
///     m = N·H·W), which is what PyTorch folds into the running variance.
/// - Throws: `KernelError.tooFewValuesPerChannel` when N·H·W < 2 (the unbiased variance is
///   undefined; PyTorch refuses too).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func batchNormTraining<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    scale: UnsafePointer<T>, bias: UnsafePointer<T>, epsilon: Double,
    batchMean: UnsafeMutablePointer<T>, batchVariance: UnsafeMutablePointer<T>
) throws(KernelError) {
    let plane = shape.spatial, channels = shape.channels, batch = shape.batch
    let m = batch * plane
    guard m >= 2 else { throw .tooFewValuesPerChannel(m) }
    parallelFor(channels, costPerItem: 3 * m) { range in
        for c in range {
            var sum = 0.0
            for n in 0..<batch {
                let src = input + (n * channels + c) * plane
                for i in 0..<plane { sum += Double(src[i]) }
            }
            let mean = sum / Double(m)
            var squares = 0.0
            for n in 0..<batch {
                let src = input + (n * channels + c) * plane
                for i in 0..<plane { let d = Double(src[i]) - mean; squares += d * d }
            }
            let variance = squares / Double(m)
            batchMean[c] = T(mean)
            batchVariance[c] = T(squares / Double(m - 1))
            let ta = T(batchNormFactor(scale: Double(scale[c]), variance: variance, epsilon: epsilon))
            let tm = T(mean), tb = bias[c]
            for n in 0..<batch {
                let src = input + (n * channels + c) * plane, dst = output + (n * channels + c) * plane
                for i in 0..<plane { dst[i] = (src[i] - tm) * ta + tb }
            }
        }
    }
}

/// Normalizes `count` contiguous values to zero mean and unit (biased) variance, then applies
/// `y·scale + bias`, where scale/bias are read at `affineIndex(i)` (nil scale/bias: 1/0).
@inline(__always)
@discardableResult
func normalizeRun<T: KernelScalar>(
    _ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, count: Int,
    epsilon: Double, _ affine: (Int) -> (T, T)
) -> (mean: Double, invStdDev: Double) {
    var sum = 0.0
    for i in 0..<count { sum += Double(src[i]) }
    let mean = sum / Double(count)
    var squares = 0.0
    for i in 0..<count { let d = Double(src[i]) - mean; squares += d * d }
    let inv = 1 / (squares / Double(count) + epsilon).squareRoot()
    let tm = T(mean), ti = T(inv)
    for i in 0..<count {
        let (a, b) = affine(i)
        dst[i] = (src[i] - tm) * ti * a + b
    }
    return (mean, inv)
}

/// LayerNorm: normalizes over the trailing axes `axis..<rank` of a row-major tensor of `shape`,
/// then applies `scale` and `bias` (each of the trailing axes' element count; bias may be nil).
/// `output` may be `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func layerNorm<T: KernelScalar>(
    input: UnsafePointer<T>, output: UnsafeMutablePointer<T>, shape: [Int], axis: Int,
    scale: UnsafePointer<T>, bias: UnsafePointer<T>?, epsilon: Double
) throws(KernelError) {
    guard axis >= 0 && axis < shape.count else { throw .axisOutOfRange(axis: axis, rank: shape.count) }
    let outer = shape[..<axis].reduce(1, *), inner = shape[axis...].reduce(1, *)
    guard inner > 0 else { return }
    forEachRow(outer, cost: 4 * inner) { r in
        normalizeRun(input + r * inner, output + r * inner, count: inner, epsilon: epsilon) { i in
            (scale[i], bias?[i] ?? 0)
        }
    }
}

/// GroupNorm: for each image, the channels split into `groups` of C/groups consecutive channels;
/// each group is normalized over its channels and H, W, then `scale[c]`, `bias[c]` (per channel,
/// as in PyTorch `nn.GroupNorm`) apply. `output` may be `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func groupNorm<T: KernelScalar>(
    _ shape: Shape4D, groups: Int, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    scale: UnsafePointer<T>, bias: UnsafePointer<T>, epsilon: Double
) throws(KernelError) {
    try requirePositive("groups", groups)
    guard shape.channels % groups == 0 else {
        throw .groupsDoNotDivide(channels: shape.channels, groups: groups)
    }
    let perGroup = shape.channels / groups, plane = shape.spatial
    let run = perGroup * plane
    guard run > 0 else { return }
    forEachRow(shape.batch * groups, cost: 4 * run) { r in
        let firstChannel = (r % groups) * perGroup
        normalizeRun(input + r * run, output + r * run, count: run, epsilon: epsilon) { i in
            let c = firstChannel + i / plane
            return (scale[c], bias[c])
        }
    }
}

/// InstanceNorm: each (image, channel) plane normalized over H, W, then `scale[c]`, `bias[c]`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func instanceNorm<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    scale: UnsafePointer<T>, bias: UnsafePointer<T>, epsilon: Double
) {
    let plane = shape.spatial, channels = shape.channels
    guard plane > 0 else { return }
    forEachRow(shape.batch * channels, cost: 4 * plane) { p in
        let c = p % channels
        let a = scale[c], b = bias[c]
        normalizeRun(input + p * plane, output + p * plane, count: plane, epsilon: epsilon) { _ in (a, b) }
    }
}

/// Local response normalization across channels (ONNX LRN):
/// `y = x / (bias + alpha/size · Σ x²)^beta`, the sum over channels
/// `c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉` clipped to the valid range.
/// `output` must not overlap `input`.
@_specialize(where T == Float)
@_specialize(where T == Double)
public func localResponseNorm<T: KernelScalar>(
    _ shape: Shape4D, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    size: Int, alpha: Double, beta: Double, bias: Double
) throws(KernelError) {
    try requirePositive("LRN size", size)
    let plane = shape.spatial, channels = shape.channels
    let before = (size - 1) / 2, after = size - 1 - before
    let k = T(bias), a = T(alpha / Double(size)), b = T(beta)
    forEachRow(shape.batch * channels, cost: plane * (size + 8)) { p in
        let n = p / channels, c = p % channels
        let dst = output + p * plane
        dst.update(repeating: 0, count: plane)
        for cc in max(0, c - before)...min(channels - 1, c + after) {
            let s = input + (n * channels + cc) * plane
            for i in 0..<plane { dst[i] += s[i] * s[i] }
        }
        let src = input + p * plane
        for i in 0..<plane { dst[i] = src[i] / T.pow(k + a * dst[i], b) }
    }
}
