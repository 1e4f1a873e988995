// Parameters as the kernels want them: converted to the executor's scalar once, with weight
// reparameterizations (weight norm, weight standardization) applied at plan time in Float64.
import CNNGraph
import CNNKernels

enum Parameters {
    /// The tensor's values in Float64.
    static func doubles(_ t: Tensor) -> [Double] {
        t.values.withUnsafeBufferPointer { $0.map(Double.init) }
    }

    /// The plain weight a Conv2d/Linear uses: `weight` itself, or `g·v/‖v‖` (weight norm) or
    /// `(v − mean)/√(var + ε)` (weight standardization, biased variance), per output channel
    /// (axis 0), computed in Float64 and rounded once to the executor's scalar.
    static func effectiveWeight(_ weight: Tensor, _ reparameterization: WeightReparameterization?) -> [Double] {
        var w = doubles(weight)
        guard let reparameterization, let out = weight.shape.first, out > 0 else { return w }
        let per = w.count / out
        switch reparameterization {
        case .weightNorm(let gain):
            let g = doubles(gain)
            for o in 0..<out {
                var squares = 0.0
                for i in 0..<per { squares += w[o * per + i] * w[o * per + i] }
                let norm = squares.squareRoot()
                // ‖v‖ = 0: PyTorch divides by zero too; keep the zero weights instead of NaN.
                let f = norm > 0 ? g[o] / norm : 0
                for i in 0..<per { w[o * per + i] *= f }
            }
        case .weightStandardization(let epsilon):
            for o in 0..<out {
                var sum = 0.0
                for i in 0..<per { sum += w[o * per + i] }
                let mean = sum / Double(per)
                var squares = 0.0
                for i in 0..<per { let d = w[o * per + i] - mean; squares += d * d }
                let inv = 1 / (squares / Double(per) + epsilon).squareRoot()
                for i in 0..<per { w[o * per + i] = (w[o * per + i] - mean) * inv }
            }
        }
        return w
    }
}
