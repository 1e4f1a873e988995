// The activations tensor ops: one file each in this folder, listed here once.

extension TensorOps {
    static let activations: [any TensorOpDefinition] = [
        ThresholdedReluOp(),
    ]
}
