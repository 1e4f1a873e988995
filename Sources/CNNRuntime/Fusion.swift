// Executor-level fusion of an element-wise op with the ReLU that alone reads it: eval-mode
// BatchNorm→ReLU, BatchNorm→Clip (ReLU6, MobileNet) and Add→ReLU run as one pass over memory
// instead of two. The arithmetic is the
// unfused kernels', operation for operation, so results are bitwise identical (a test holds the
// fused plan to the unfused one). Fusion is off when the intermediate must stay readable
// (`retainAllValues`, or a graph output).
import CNNGraph
import CNNKernels
import Dispatch

extension Executor {
    /// Whether node `i` (BatchNorm, or Add of two) feeds only node `i + 1`, a ReLU (or, after a
    /// BatchNorm, a Clip), and its value need not be kept.
    func fusesWithNextReLU(_ i: Int, pinned: Set<String>, consumers: [String: Int]) -> Bool {
        let nodes = graph.nodes
        guard !retainsAllValues, i + 1 < nodes.count, nodes[i].outputs.count == 1 else { return false }
        let out = nodes[i].output
        guard !pinned.contains(out), consumers[out] == 1, case .activation(let a) = nodes[i + 1].op,
              nodes[i + 1].inputs == [out] else { return false }
        switch (nodes[i].op, a) {
        case (.batchNorm, .relu), (.batchNorm, .clip): return true
        case (.add, .relu): return nodes[i].inputs.count == 2
        default: return false
        }
    }

    /// The step for BatchNorm→ReLU (or →Clip when `activation` is one): one pass in eval and MC
    /// dropout modes; in train mode the BatchNorm step (batch statistics) then the activation pass.
    func fusedBatchNormReLU(_ bn: BatchNorm, shape: [Int], x: UnsafePointer<Scalar>, bnOutput: UnsafeMutablePointer<Scalar>,
                            y: UnsafeMutablePointer<Scalar>, activation: Op = .activation(.relu),
                            unfused: @escaping (RunState) throws -> Void) -> (RunState) throws -> Void {
        let s = shape4(shape), c = s.channels, plane = s.spatial, planes = s.batch * c
        let affine = Self.batchNormAffine(bn, channels: c)
        let factor = memory.store(affine.factor), centre = memory.store(affine.centre), shift = memory.store(affine.shift)
        let count = s.count
        let threads = self.threads
        // The Clip's bounds as the activation kernel rounds them; nil for ReLU.
        var kind = CNNKernels.Activation.relu, bounds: (Scalar, Scalar)?
        if case .activation(let a) = activation, case let .clip(lo, hi) = a {
            kind = kernelActivation(a)
            bounds = (Scalar(Double(lo)), Scalar(Double(hi)))
        }
        return { state in
            if state.mode == .train {
                try unfused(state)
                activate(kind, input: bnOutput, output: y, count: count)
                return
            }
            parallelFor(planes, costPerItem: plane, maxThreads: threads) { range in
                if let (lo, hi) = bounds {
                    batchNormClipRows(range, channels: c, plane: plane, x: x, y: y, factor: factor, centre: centre, shift: shift, lo: lo, hi: hi)
                } else {
                    batchNormReLURows(range, channels: c, plane: plane, x: x, y: y, factor: factor, centre: centre, shift: shift)
                }
            }
        }
    }

    /// An eval-mode BatchNorm as `y = (x − centre)·factor + shift` per channel, with the values
    /// exactly as `batchNormInference` rounds them (so a fused pass gives its results).
    static func batchNormAffine(_ bn: BatchNorm, channels c: Int) -> (factor: [Scalar], centre: [Scalar], shift: [Scalar]) {
        let gamma = bn.scale.map(Parameters.doubles) ?? [Double](repeating: 1, count: c)
        let beta = bn.bias.map(Parameters.doubles) ?? [Double](repeating: 0, count: c)
        let mean = Parameters.doubles(bn.runningMean), variance = Parameters.doubles(bn.runningVariance)
        let eps = bn.epsilon
        return ((0..<c).map { Scalar(Double(Scalar(gamma[$0])) / (Double(Scalar(variance[$0])) + eps).squareRoot()) },
                (0..<c).map { Scalar(mean[$0]) }, (0..<c).map { Scalar(beta[$0]) })
    }

    /// The step for Add(a, b)→ReLU in one pass.
    func fusedAddReLU(_ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, y: UnsafeMutablePointer<Scalar>, count: Int) -> (RunState) throws -> Void {
        let block = 4096, blocks = (count + block - 1) / block
        let threads = self.threads
        return { _ in
            parallelFor(blocks, costPerItem: block, maxThreads: threads) { range in
                addReLU(a, b, y, from: range.lowerBound * block, to: min(count, range.upperBound * block))
            }
        }
    }
}

// The loops, written once per scalar type: generic loops called from the generic executor ran
// unspecialized (10x slower, measured), so the executor picks the concrete one at plan time.

/// Dispatches to the Float or Double loop (Scalar is one of the two).
@inline(__always)
func batchNormReLURows<T: KernelScalar>(_ range: Range<Int>, channels c: Int, plane: Int, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                        factor: UnsafePointer<T>, centre: UnsafePointer<T>, shift: UnsafePointer<T>) {
    if T.self == Float.self {
        batchNormReLURowsFloat(range, c, plane, OpaquePointer(x), OpaquePointer(y), OpaquePointer(factor), OpaquePointer(centre), OpaquePointer(shift))
    } else {
        batchNormReLURowsDouble(range, c, plane, OpaquePointer(x), OpaquePointer(y), OpaquePointer(factor), OpaquePointer(centre), OpaquePointer(shift))
    }
}

@inline(__always)
func addReLU<T: KernelScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, from: Int, to: Int) {
    if T.self == Float.self {
        addReLUFloat(OpaquePointer(a), OpaquePointer(b), OpaquePointer(y), from, to)
    } else {
        addReLUDouble(OpaquePointer(a), OpaquePointer(b), OpaquePointer(y), from, to)
    }
}

@inline(never)
func batchNormReLURowsFloat(_ range: Range<Int>, _ c: Int, _ plane: Int, _ xp: OpaquePointer, _ yp: OpaquePointer,
                          _ fp: OpaquePointer, _ mp: OpaquePointer, _ bp: OpaquePointer) {
    let x = UnsafePointer<Float>(xp), y = UnsafeMutablePointer<Float>(yp)
    let factor = UnsafePointer<Float>(fp), centre = UnsafePointer<Float>(mp), shift = UnsafePointer<Float>(bp)
    // Exact aliasing sends two-pointer loops down the vectorizer's scalar fallback (its overlap
    // check fails), so the in-place case gets its own single-pointer loop.
    let inPlace = UnsafePointer(y) == x
    for p in range {
        let ch = p % c
        let a = factor[ch], m = centre[ch], b = shift[ch]
        let dst = y + p * plane
        if inPlace {
            for i in 0..<plane {
                let v = (dst[i] - m) * a + b
                dst[i] = v > 0 ? v : (v.isNaN ? v : 0)
            }
        } else {
            let src = x + p * plane
            for i in 0..<plane {
                let v = (src[i] - m) * a + b
                dst[i] = v > 0 ? v : (v.isNaN ? v : 0)
            }
        }
    }
}

@inline(never)
func addReLUFloat(_ ap: OpaquePointer, _ bp: OpaquePointer, _ yp: OpaquePointer, _ from: Int, _ to: Int) {
    let a = UnsafePointer<Float>(ap), b = UnsafePointer<Float>(bp), y = UnsafeMutablePointer<Float>(yp)
    // Written over an input: y += other (addition commutes bit for bit), two pointers that do
    // not overlap, so it vectorizes.
    if UnsafePointer(y) == a || UnsafePointer(y) == b {
        let other = UnsafePointer(y) == a ? b : a
        for i in from..<to {
            let v = y[i] + other[i]
            y[i] = v > 0 ? v : (v.isNaN ? v : 0)
        }
        return
    }
    for i in from..<to {
        let v = a[i] + b[i]
        y[i] = v > 0 ? v : (v.isNaN ? v : 0)
    }
}

@inline(never)
func batchNormReLURowsDouble(_ range: Range<Int>, _ c: Int, _ plane: Int, _ xp: OpaquePointer, _ yp: OpaquePointer,
                          _ fp: OpaquePointer, _ mp: OpaquePointer, _ bp: OpaquePointer) {
    let x = UnsafePointer<Double>(xp), y = UnsafeMutablePointer<Double>(yp)
    let factor = UnsafePointer<Double>(fp), centre = UnsafePointer<Double>(mp), shift = UnsafePointer<Double>(bp)
    // Exact aliasing sends two-pointer loops down the vectorizer's scalar fallback (its overlap
    // check fails), so the in-place case gets its own single-pointer loop.
    let inPlace = UnsafePointer(y) == x
    for p in range {
        let ch = p % c
        let a = factor[ch], m = centre[ch], b = shift[ch]
        let dst = y + p * plane
        if inPlace {
            for i in 0..<plane {
                let v = (dst[i] - m) * a + b
                dst[i] = v > 0 ? v : (v.isNaN ? v : 0)
            }
        } else {
            let src = x + p * plane
            for i in 0..<plane {
                let v = (src[i] - m) * a + b
                dst[i] = v > 0 ? v : (v.isNaN ? v : 0)
            }
        }
    }
}

@inline(never)
func addReLUDouble(_ ap: OpaquePointer, _ bp: OpaquePointer, _ yp: OpaquePointer, _ from: Int, _ to: Int) {
    let a = UnsafePointer<Double>(ap), b = UnsafePointer<Double>(bp), y = UnsafeMutablePointer<Double>(yp)
    // Written over an input: y += other (addition commutes bit for bit), two pointers that do
    // not overlap, so it vectorizes.
    if UnsafePointer(y) == a || UnsafePointer(y) == b {
        let other = UnsafePointer(y) == a ? b : a
        for i in from..<to {
            let v = y[i] + other[i]
            y[i] = v > 0 ? v : (v.isNaN ? v : 0)
        }
        return
    }
    for i in from..<to {
        let v = a[i] + b[i]
        y[i] = v > 0 ? v : (v.isNaN ? v : 0)
    }
}

