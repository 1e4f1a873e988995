// The recurrent tensor ops: one file each in this folder, listed here once.

extension TensorOps {
    static let recurrent: [any TensorOpDefinition] = [
        LSTMOp(),
        GRUOp(),
    ]
}
