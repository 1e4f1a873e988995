// The activations tensor ops: one file each in this folder, listed here once.
import CNNKernels

extension TensorOps {
    static let activations: [any TensorOpDefinition] = [
        UnaryOp("Softplus", "y = ln(1 + e^x)", .softplus),
        UnaryOp("Mish", "y = x · tanh(ln(1 + e^x))", .mish),
        UnaryOp("Softsign", "y = x / (1 + |x|)", .softsign),
        UnaryOp.gelu, UnaryOp.elu, UnaryOp.selu, UnaryOp.celu, UnaryOp.shrink,
        PReluOp(),
        ClipOp(),
        ThresholdedReluOp(),
    ]
}
