// The activations tensor ops: one file each in this folder, listed here once.
import CNNKernels

extension TensorOps {
    static let activations: [any TensorOpDefinition] = [
        UnaryOp("Softplus", "y = ln(1 + e^x)", .softplus),
        UnaryOp(name: "Mish", summary: "y = x · tanh(ln(1 + e^x))", minimumOpset: 18, function: { _ in .mish }),
        UnaryOp("Softsign", "y = x / (1 + |x|)", .softsign),
        UnaryOp.gelu, UnaryOp.elu, UnaryOp.selu, UnaryOp.celu, UnaryOp.shrink,
        PReluOp(),
        ClipOp(),
        ThresholdedReluOp(),
    ]
}
