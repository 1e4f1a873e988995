// The math tensor ops: one file each in this folder, listed here once.

extension TensorOps {
    static let math: [any TensorOpDefinition] =
        [
            MatMulOp(),
            GemmOp(),
            LayerNormalizationOp(),
        ] + ReduceOp.all + SoftmaxOp.all
}
