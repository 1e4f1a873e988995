// The movement tensor ops: one file each in this folder, listed here once.

extension TensorOps {
    static let movement: [any TensorOpDefinition] = [
        TransposeOp(),
    ]
}
