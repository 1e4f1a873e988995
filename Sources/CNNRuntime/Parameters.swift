// Parameters as the kernels want them, in Float64 (weight reparameterizations are applied by
// `WeightReparameterization.effectiveWeight`, at plan time).
import CNNGraph
import CNNKernels

enum Parameters {
    /// The tensor's values in Float64.
    static func doubles(_ t: Tensor) -> [Double] {
        t.values.withUnsafeBufferPointer { $0.map(Double.init) }
    }
}
