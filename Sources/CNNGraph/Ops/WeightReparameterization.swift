// Weight normalization and weight standardization: a Conv2d's or Linear's weight is stored
// reparameterized and folds into plain weights (CNNPasses); the ONNX export writes it folded.

/// A reparameterization of a Conv2d/Linear weight, applied before use (folds into plain weights).
public enum WeightReparameterization: Sendable, Equatable {
    /// w = g · v / ‖v‖ per output channel; the op's weight holds v.
    case weightNorm(gain: Tensor)
    /// w = (v − mean) / √(var + ε) per output channel (biased variance).
    case weightStandardization(epsilon: Double)

    /// A conv's or linear's parameters in the order every list of them uses: weight, bias, gain.
    static func parameters(weight: Tensor, bias: Tensor?, _ r: WeightReparameterization?) -> [(
        role: String, tensor: Tensor
    )] {
        var out: [(role: String, tensor: Tensor)] = [("weight", weight)]
        if let bias { out.append(("bias", bias)) }
        if case .weightNorm(let g) = r { out.append(("weight_gain", g)) }
        return out
    }

    /// Maps the weight-norm gain, the one tensor a reparameterization holds.
    static func mapGain(_ r: inout WeightReparameterization?, _ transform: (Tensor) throws -> Tensor) rethrows {
        if case .weightNorm(let g) = r { r = .weightNorm(gain: try transform(g)) }
    }

    /// The weight a reparameterized conv/linear computes with, per output channel (axis 0), in
    /// Float64: w = g·v/‖v‖ (zeros where ‖v‖ = 0, as PyTorch's zero rows stay zero) or
    /// (v − mean)/√(var + ε) (biased variance). The one formula the executor, the fold pass and the
    /// ONNX export (which has no reparameterization) each round once from.
    public static func effectiveWeight(_ weight: Tensor, _ r: WeightReparameterization?) -> [Double] {
        var w = weight.values.withUnsafeBufferPointer { $0.map(Double.init) }
        guard let r, let out = weight.shape.first, out > 0 else { return w }
        let per = w.count / out
        for o in 0..<out {
            let row = w[(o * per)..<((o + 1) * per)]
            switch r {
            case .weightNorm(let gain):
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let g = Double(gain.values[o])
                for k in row.indices { w[k] = norm > 0 ? g * row[k] / norm : 0 }
            case .weightStandardization(let eps):
                let mean = row.reduce(0, +) / Double(per)
                let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(per)
                let d = (variance + eps).squareRoot()
                for k in row.indices { w[k] = (row[k] - mean) / d }
            }
        }
        return w
    }
}

extension Node {
    /// A reparameterization's own attributes: the gain's length, the epsilon's range.
    func checkReparameterization(_ r: WeightReparameterization?, outChannels: Int) throws(GraphError) {
        switch r {
        case .weightNorm(let g)?: try expectCount(g, outChannels, "weight-norm gain")
        case .weightStandardization(let eps)?:
            guard eps >= 0, eps.isFinite else { throw bad("weight standardization epsilon is \(eps), must be ≥ 0") }
        case nil: break
        }
    }
}
