// Realistic random parameters: He-initialised weights, BatchNorm statistics as training
// leaves them (means off zero, variances spread over two decades, γ near 1, β near 0).
import CNNGraph
import Foundation

/// Draws the parameter tensors of fixture models from one seeded stream, with the
/// distributions trained networks have, so that folding and verification are tested on
/// realistic magnitudes rather than on ones and zeros.
public struct ParameterFactory: Sendable {
    /// The stream every tensor is drawn from, in call order (the order fixes the values).
    public var random: SeededRandom
    /// A factory whose tensors depend only on `seed` and the order of calls.
    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    /// A tensor whose elements are drawn by `draw`, the building block of the helpers below.
    public mutating func tensor(_ name: String, _ shape: [Int], _ draw: (inout SeededRandom) -> Double) -> Tensor {
        Tensor(name: name, shape: shape, values: random.floats(shape.reduce(1, *), draw))
    }

    /// He-normal weights for a fan-in of shape[1...] (conv and linear).
    public mutating func weight(_ name: String, _ shape: [Int], fanIn: Int? = nil) -> Tensor {
        let fan = fanIn ?? shape.dropFirst().reduce(1, *)
        let std = (2.0 / Double(max(1, fan))).squareRoot()
        return tensor(name, shape) { $0.gaussian(std: std) }
    }

    /// A bias with small values around zero (σ = 0.05), as training leaves them.
    public mutating func bias(_ name: String, _ count: Int) -> Tensor {
        tensor(name, [count]) { $0.gaussian(std: 0.05) }
    }

    /// A square-window Conv2d op (He-normal weights, optional bias) named `name`, its tensors
    /// `name.weight` and `name.bias` as PyTorch names them.
    public mutating func conv(
        _ name: String, _ input: Int, _ output: Int, k: Int, s: Int = 1, p: Int = 0,
        groups: Int = 1, bias: Bool = true
    ) -> Op {
        .conv2d(
            Conv2d(
                weight: weight("\(name).weight", [output, input / groups, k, k]),
                bias: bias ? self.bias("\(name).bias", output) : nil,
                window: Window2d(k: k, s: s, p: p), groups: groups))
    }

    /// A Linear op (He-normal weights, optional bias) named as PyTorch names its tensors.
    public mutating func linear(_ name: String, _ input: Int, _ output: Int, bias: Bool = true) -> Op {
        .linear(
            Linear(
                weight: weight("\(name).weight", [output, input]), bias: bias ? self.bias("\(name).bias", output) : nil)
        )
    }

    /// A BatchNorm as training leaves it: running variance log-uniform in [0.05, 4].
    public mutating func batchNorm(_ name: String, _ channels: Int, epsilon: Double = 1e-5, affine: Bool = true) -> Op {
        let gamma = affine ? tensor("\(name).weight", [channels]) { 1 + $0.gaussian(std: 0.2) } : nil
        let beta = affine ? tensor("\(name).bias", [channels]) { $0.gaussian(std: 0.1) } : nil
        let mean = tensor("\(name).running_mean", [channels]) { $0.gaussian(std: 0.5) }
        let variance = tensor("\(name).running_var", [channels]) { r in 0.05 * pow(80, r.uniform()) }
        return .batchNorm(
            BatchNorm(
                scale: gamma, bias: beta, runningMean: mean, runningVariance: variance,
                epsilon: epsilon, momentum: 0.1, numBatchesTracked: 1_000))
    }
}
