// Executor-level fusion of an element-wise op with the ReLU that alone reads it: eval-mode
// BatchNorm→ReLU, BatchNorm→Clip (ReLU6, MobileNet) and Add→ReLU run as one pass over memory
// instead of two. The arithmetic is the
// unfused kernels', operation for operation, so results are bitwise identical (a test holds the
// fused plan to the unfused one). Fusion is off when the intermediate must stay readable
// (`retainAllValues`, or a graph output). The loops, written once for Float and Double, are in
// CNNKernels/FusedClip.swift.
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
            nodes[i + 1].inputs == [out]
        else { return false }
        switch (nodes[i].op, a) {
        case (.batchNorm, .relu), (.batchNorm, .clip): return true
        case (.add, .relu): return nodes[i].inputs.count == 2
        default: return false
        }
    }

    /// The step for BatchNorm→ReLU (or →Clip when `activation` is one): one pass in eval and MC
    /// dropout modes; in train mode the BatchNorm step (batch statistics) then the activation pass.
    func fusedBatchNormReLU(
        _ bn: BatchNorm, shape: [Int], x: UnsafePointer<Scalar>, bnOutput: UnsafeMutablePointer<Scalar>,
        y: UnsafeMutablePointer<Scalar>, activation: Op = .activation(.relu),
        unfused: @escaping (RunState) throws -> Void
    ) -> (RunState) throws -> Void {
        let s = shape4(shape), c = s.channels, plane = s.spatial, planes = s.batch * c
        let affine = Self.batchNormAffine(bn, channels: c)
        let factor = memory.store(affine.factor), centre = memory.store(affine.centre),
            shift = memory.store(affine.shift)
        let count = s.count
        let threads = self.threads
        // The Clip's bounds as the activation kernel rounds them; nil for ReLU.
        var kind = CNNKernels.Activation.relu, bounds: (Scalar, Scalar)?
        if case .activation(let a) = activation, case .clip(let lo, let hi) = a {
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
                    batchNormClipRows(
                        range, channels: c, plane: plane, x: x, y: y, factor: factor, centre: centre, shift: shift,
                        lo: lo, hi: hi)
                } else {
                    batchNormReLURows(
                        range, channels: c, plane: plane, x: x, y: y, factor: factor, centre: centre, shift: shift)
                }
            }
        }
    }

    /// An eval-mode BatchNorm as `y = (x − centre)·factor + shift` per channel, with the values
    /// exactly as `batchNormInference` rounds them (so a fused pass gives its results).
    static func batchNormAffine(_ bn: BatchNorm, channels c: Int) -> (
        factor: [Scalar], centre: [Scalar], shift: [Scalar]
    ) {
        let gamma = bn.scale.map(Parameters.doubles) ?? [Double](repeating: 1, count: c)
        let beta = bn.bias.map(Parameters.doubles) ?? [Double](repeating: 0, count: c)
        let mean = Parameters.doubles(bn.runningMean), variance = Parameters.doubles(bn.runningVariance)
        let eps = bn.epsilon
        return (
            (0..<c).map {
                Scalar(
                    batchNormFactor(
                        scale: Double(Scalar(gamma[$0])), variance: Double(Scalar(variance[$0])), epsilon: eps))
            },
            (0..<c).map { Scalar(mean[$0]) }, (0..<c).map { Scalar(beta[$0]) }
        )
    }

    /// The step for Add(a, b)→ReLU in one pass.
    func fusedAddReLU(
        _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, y: UnsafeMutablePointer<Scalar>, count: Int
    ) -> (RunState) throws -> Void {
        let block = 4096, blocks = (count + block - 1) / block
        let threads = self.threads
        return { _ in
            parallelFor(blocks, costPerItem: block, maxThreads: threads) { range in
                addReLU(a, b, y, from: range.lowerBound * block, to: min(count, range.upperBound * block))
            }
        }
    }
}
