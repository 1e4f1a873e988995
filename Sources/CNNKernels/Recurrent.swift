// Recurrent layers as ONNX defines them (LSTM, GRU), with the default activations: the input
// projection of every time step is one GEMM per direction (X·Wᵀ over all T·B rows), the
// recurrent projection one GEMM per step (H·Rᵀ over the batch), and only the gate arithmetic is
// element-wise. Graph-free: the tensor-op definitions (CNNGraph/TensorOps/Recurrent) validate
// the shapes and attributes and hand a `RecurrentGeometry` here.

/// The shapes of one recurrent layer. Layout 0 (ONNX default): X `[T, B, I]`, Y `[T, D, B, H]`,
/// states `[D, B, H]`; layout 1 (`batchFirst`): X `[B, T, I]`, Y `[B, T, D, H]`, states `[B, D, H]`.
public struct RecurrentGeometry: Sendable, Equatable {
    /// T: time steps.
    public var sequenceLength: Int
    /// B.
    public var batch: Int
    /// I: features of one step's input.
    public var inputSize: Int
    /// H: features of the hidden state.
    public var hiddenSize: Int
    /// Whether the layer runs forward, reverse, or both (D = 2, forward first).
    public var direction: RecurrentDirection
    /// ONNX `layout` = 1: batch is the first axis of X, Y and the states.
    public var batchFirst: Bool

    /// A geometry the caller has validated (sizes ≥ 0, products not overflowing).
    public init(
        sequenceLength: Int, batch: Int, inputSize: Int, hiddenSize: Int, direction: RecurrentDirection,
        batchFirst: Bool
    ) {
        self.sequenceLength = sequenceLength; self.batch = batch; self.inputSize = inputSize
        self.hiddenSize = hiddenSize; self.direction = direction; self.batchFirst = batchFirst
    }

    /// D: 1 or 2.
    public var directions: Int { direction == .bidirectional ? 2 : 1 }

    /// Elements `lstm` (`gates` 4) or `gru` (3) allocates per call, in one block: the input
    /// projection of every step (T·B·gates), one step's recurrent projection (B·gates), two B×H
    /// state rows and one row of gates (LSTM's summed biases; unused by GRU); `Int.max` when the
    /// product overflows (the executor refuses such a plan before any run).
    public func scratchElements(gates: Int) -> Int {
        let g = gates * hiddenSize
        var total = 0
        for factors in [[sequenceLength, batch, g], [batch, g + 2 * hiddenSize], [g]] {
            var product = 1
            for f in factors {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                guard !overflow else { return .max }
                product = p
            }
            let (t, overflow) = total.addingReportingOverflow(product)
            guard !overflow else { return .max }
            total = t
        }
        return total
    }

    /// Offset of step `t`, batch `b` in X (in rows of `inputSize`).
    @inline(__always) func xRow(_ t: Int, _ b: Int) -> Int {
        batchFirst ? b * sequenceLength + t : t * batch + b
    }
    /// Offset of step `t`, direction `d`, batch `b` in Y (in rows of `hiddenSize`).
    @inline(__always) func yRow(_ t: Int, _ d: Int, _ b: Int) -> Int {
        batchFirst ? (b * sequenceLength + t) * directions + d : (t * directions + d) * batch + b
    }
    /// Offset of direction `d`, batch `b` in a state (initial_h, Y_h, …; in rows of `hiddenSize`).
    @inline(__always) func stateRow(_ d: Int, _ b: Int) -> Int {
        batchFirst ? b * directions + d : d * batch + b
    }
}

/// ONNX's `direction` attribute.
public enum RecurrentDirection: String, Sendable, CaseIterable {
    case forward, reverse, bidirectional
}

/// The step batch `b` is at after `step` steps of direction `reversed`, or nil once its sequence
/// (of `length` steps) is done: a reverse pass starts at each sequence's own last step.
@inline(__always)
private func timeStep(_ step: Int, length: Int, reversed: Bool) -> Int? {
    guard step < length else { return nil }
    return reversed ? length - 1 - step : step
}

/// X·Wᵀ for every step of one direction at once (`gates` outputs per row, rows in X's own
/// order): the input half of every gate, one GEMM instead of one per step.
@inline(__always)
private func projectInputs<T: KernelScalar>(
    _ g: RecurrentGeometry, x: UnsafePointer<T>, w: UnsafePointer<T>, gates: Int,
    into projected: UnsafeMutablePointer<T>
) {
    let rows = g.sequenceLength * g.batch
    if g.inputSize > 0 {
        parallelGemm(
            transposeA: false, transposeB: true, m: rows, n: gates, k: g.inputSize,
            a: x, lda: g.inputSize, b: w, ldb: g.inputSize, beta: 0, c: projected, ldc: gates)
    } else {
        projected.update(repeating: 0, count: rows * gates)
    }
}

/// Direction `d`'s initial state, one `[B, H]` row per batch entry, from `initial` (laid out as
/// the geometry says) or zeros.
@inline(__always)
private func loadState<T: KernelScalar>(
    _ g: RecurrentGeometry, _ initial: UnsafePointer<T>?, direction d: Int, into state: UnsafeMutablePointer<T>
) {
    let hidden = g.hiddenSize
    for b in 0..<g.batch {
        if let initial {
            (state + b * hidden).update(from: initial + g.stateRow(d, b) * hidden, count: hidden)
        } else {
            (state + b * hidden).update(repeating: 0, count: hidden)
        }
    }
}

/// ONNX LSTM (gate order i, o, f, c in W, R, B and i, o, f in P) with activations Sigmoid, Tanh,
/// Tanh: `i = σ(x·Wiᵀ + h·Riᵀ + Pi⊙c + bi)`, `f` alike, `o = σ(… + Po⊙c′)`,
/// `c′ = f⊙c + i⊙tanh(x·Wcᵀ + h·Rcᵀ + bc)`, `h′ = o⊙tanh(c′)`. With `clip`, every gate's
/// pre-activation is clamped to [−clip, clip] first (as onnxruntime does).
///
/// - Parameters:
///   - w: `[D, 4H, I]`; r: `[D, 4H, H]`; bias: `[D, 8H]` (Wb then Rb) or nil;
///     initialH/initialC: states (see `RecurrentGeometry`) or nil for zeros; peepholes `[D, 3H]` or nil.
///   - sequenceLengths: B lengths in 1...T, or nil for T each. Steps past a sequence's length
///     write zeros to Y and leave the states as they were.
///   - y, yH, yC: the outputs wanted (nil to skip).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func lstm<T: KernelScalar>(
    _ g: RecurrentGeometry, x: UnsafePointer<T>, w: UnsafePointer<T>, r: UnsafePointer<T>,
    bias: UnsafePointer<T>?, initialH: UnsafePointer<T>?, initialC: UnsafePointer<T>?,
    peepholes: UnsafePointer<T>?, sequenceLengths: [Int]?, clip: T?,
    y: UnsafeMutablePointer<T>?, yH: UnsafeMutablePointer<T>?, yC: UnsafeMutablePointer<T>?
) {
    let (steps, batch, inputs, hidden) = (g.sequenceLength, g.batch, g.inputSize, g.hiddenSize)
    let gates = 4 * hidden
    guard steps > 0, batch > 0 else { return }
    // One block of the size the executor counted (`scratchElements`): the projection of every
    // step, one step's gates, h, c, the summed biases.
    let projected = UnsafeMutablePointer<T>.allocate(capacity: g.scratchElements(gates: 4))
    defer { projected.deallocate() }
    let step = projected + steps * batch * gates
    let h = step + batch * gates, c = h + batch * hidden, bsum = c + batch * hidden
    let lo = -(clip ?? .infinity), hi = clip ?? .infinity

    for d in 0..<g.directions {
        let reversed = g.direction == .reverse || d == 1
        let wd = w + d * gates * inputs, rd = r + d * gates * hidden
        projectInputs(g, x: x, w: wd, gates: gates, into: projected)
        if let bias {
            let bd = bias + d * 2 * gates
            for j in 0..<gates { bsum[j] = bd[j] + bd[gates + j] }
        } else {
            bsum.update(repeating: 0, count: gates)
        }
        loadState(g, initialH, direction: d, into: h)
        loadState(g, initialC, direction: d, into: c)
        let pi = peepholes.map { $0 + d * 3 * hidden }
        for s in 0..<steps {
            for b in 0..<batch {
                let t = timeStep(s, length: sequenceLengths?[b] ?? steps, reversed: reversed) ?? 0
                let src = projected + g.xRow(t, b) * gates, dst = step + b * gates
                for j in 0..<gates { dst[j] = src[j] + bsum[j] }
            }
            if hidden > 0 {
                parallelGemm(
                    transposeA: false, transposeB: true, m: batch, n: gates, k: hidden,
                    a: h, lda: hidden, b: rd, ldb: hidden, beta: 1, c: step, ldc: gates)
            }
            for b in 0..<batch {
                guard let t = timeStep(s, length: sequenceLengths?[b] ?? steps, reversed: reversed) else {
                    // Past this sequence's end: Y is zero at step s (never reached otherwise).
                    y.map { ($0 + g.yRow(s, d, b) * hidden).update(repeating: 0, count: hidden) }
                    continue
                }
                let z = step + b * gates, hb = h + b * hidden, cb = c + b * hidden
                for j in 0..<hidden {
                    let cPrev = cb[j]
                    var gi = z[j], go = z[hidden + j], gf = z[2 * hidden + j]
                    let gc = min(max(z[3 * hidden + j], lo), hi)
                    if let pi {
                        gi += pi[j] * cPrev; gf += pi[2 * hidden + j] * cPrev
                    }
                    let i = sigmoid(min(max(gi, lo), hi)), f = sigmoid(min(max(gf, lo), hi))
                    let cNew = f * cPrev + i * T.tanh(gc)
                    if let pi { go += pi[hidden + j] * cNew }
                    let o = sigmoid(min(max(go, lo), hi))
                    cb[j] = cNew
                    hb[j] = o * T.tanh(cNew)
                }
                y.map { ($0 + g.yRow(t, d, b) * hidden).update(from: hb, count: hidden) }
            }
        }
        for b in 0..<batch {
            let s = g.stateRow(d, b) * hidden
            yH.map { ($0 + s).update(from: h + b * hidden, count: hidden) }
            yC.map { ($0 + s).update(from: c + b * hidden, count: hidden) }
        }
    }
}

/// ONNX GRU (gate order z, r, h in W, R and B) with activations Sigmoid, Tanh:
/// `z = σ(x·Wzᵀ + h·Rzᵀ + bz)`, `r` alike, `h̃ = tanh(x·Whᵀ + (r⊙h)·Rhᵀ + Rbh + Wbh)` or, with
/// `linearBeforeReset`, `tanh(x·Whᵀ + r⊙(h·Rhᵀ + Rbh) + Wbh)`; `h′ = (1 − z)⊙h̃ + z⊙h`.
/// Shapes as `lstm` with 3H gates (bias `[D, 6H]`, no cell state, no peepholes).
@_specialize(where T == Float)
@_specialize(where T == Double)
public func gru<T: KernelScalar>(
    _ g: RecurrentGeometry, x: UnsafePointer<T>, w: UnsafePointer<T>, r: UnsafePointer<T>,
    bias: UnsafePointer<T>?, initialH: UnsafePointer<T>?, sequenceLengths: [Int]?, clip: T?,
    linearBeforeReset: Bool, y: UnsafeMutablePointer<T>?, yH: UnsafeMutablePointer<T>?
) {
    let (steps, batch, inputs, hidden) = (g.sequenceLength, g.batch, g.inputSize, g.hiddenSize)
    let gates = 3 * hidden
    guard steps > 0, batch > 0 else { return }
    // One block of the size the executor counted (`scratchElements`): the projection of every
    // step, one step's recurrent gates, the reset-gated state, h.
    let projected = UnsafeMutablePointer<T>.allocate(capacity: g.scratchElements(gates: 3))
    defer { projected.deallocate() }
    let recurrent = projected + steps * batch * gates
    let reset = recurrent + batch * gates, h = reset + batch * hidden
    let lo = -(clip ?? .infinity), hi = clip ?? .infinity
    @inline(__always) func clamp(_ v: T) -> T { min(max(v, lo), hi) }

    for d in 0..<g.directions {
        let reversed = g.direction == .reverse || d == 1
        let wd = w + d * gates * inputs, rd = r + d * gates * hidden
        let wb = bias.map { $0 + d * 2 * gates }
        projectInputs(g, x: x, w: wd, gates: gates, into: projected)
        loadState(g, initialH, direction: d, into: h)
        for s in 0..<steps {
            // h·Rᵀ: all three gates when the reset applies after the product, else z and r only.
            if hidden > 0 {
                parallelGemm(
                    transposeA: false, transposeB: true, m: batch, n: linearBeforeReset ? gates : 2 * hidden,
                    k: hidden, a: h, lda: hidden, b: rd, ldb: hidden, beta: 0, c: recurrent, ldc: gates)
            }
            // z and r for every batch row; r⊙h for the product that follows when it is needed.
            for b in 0..<batch {
                let t = timeStep(s, length: sequenceLengths?[b] ?? steps, reversed: reversed) ?? 0
                let xp = projected + g.xRow(t, b) * gates, rp = recurrent + b * gates
                for j in 0..<(2 * hidden) {
                    var v = xp[j] + rp[j]
                    if let wb { v += wb[j] + wb[gates + j] }
                    rp[j] = sigmoid(clamp(v))
                }
                if !linearBeforeReset {
                    for j in 0..<hidden { reset[b * hidden + j] = rp[hidden + j] * h[b * hidden + j] }
                }
            }
            if !linearBeforeReset, hidden > 0 {
                parallelGemm(
                    transposeA: false, transposeB: true, m: batch, n: hidden, k: hidden,
                    a: reset, lda: hidden, b: rd + 2 * hidden * hidden, ldb: hidden, beta: 0,
                    c: recurrent + 2 * hidden, ldc: gates)
            }
            for b in 0..<batch {
                guard let t = timeStep(s, length: sequenceLengths?[b] ?? steps, reversed: reversed) else {
                    y.map { ($0 + g.yRow(s, d, b) * hidden).update(repeating: 0, count: hidden) }
                    continue
                }
                let xp = projected + g.xRow(t, b) * gates, rp = recurrent + b * gates, hb = h + b * hidden
                for j in 0..<hidden {
                    let z = rp[j], rGate = rp[hidden + j]
                    let rbh = wb.map { $0[gates + 2 * hidden + j] } ?? 0
                    let wbh = wb.map { $0[2 * hidden + j] } ?? 0
                    let pre =
                        linearBeforeReset
                        ? xp[2 * hidden + j] + rGate * (rp[2 * hidden + j] + rbh) + wbh
                        : xp[2 * hidden + j] + rp[2 * hidden + j] + rbh + wbh
                    let candidate = T.tanh(clamp(pre))
                    hb[j] = (1 - z) * candidate + z * hb[j]
                }
                y.map { ($0 + g.yRow(t, d, b) * hidden).update(from: hb, count: hidden) }
            }
        }
        for b in 0..<batch {
            yH.map { ($0 + g.stateRow(d, b) * hidden).update(from: h + b * hidden, count: hidden) }
        }
    }
}
