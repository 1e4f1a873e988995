// The elementwise tensor ops: one file each in this folder, listed here once.

extension TensorOps {
    static let elementwise: [any TensorOpDefinition] = [

    ]
}
