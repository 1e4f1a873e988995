// A parameter tensor: a name, a shape, Float32 values, and how it is (to be) stored.
import CNNFormat

/// A parameter (weights, BN statistics, …). Values are Float32 in memory whatever the stored
/// type; `storage` records how the file stored them and how a writer will store them.
public struct Tensor: Sendable, Equatable {
    /// Unique within a graph; nodes refer to their parameters by it and files store it.
    public var name: String
    /// Row-major dims; `[]` is a scalar.
    public var shape: [Int]
    /// The elements, row-major; possibly a view into a mapped file (no copy until written to).
    public var values: FloatBuffer
    /// How the file stored the values and how a writer will store them (Float32, Float16, …).
    public var storage: StorageFormat

    /// A tensor from an array, e.g. built in code or by a pass; traps when `shape` does not
    /// match `values.count` (a programming error, not a file's).
    public init(name: String, shape: [Int], values: [Float], storage: StorageFormat = .f32Raw) {
        self.init(name: name, shape: shape, buffer: FloatBuffer(values), storage: storage)
    }

    /// A tensor over an existing buffer (a mapped file's, without copying); traps when `shape`
    /// does not match the buffer's count, so readers check the count before calling it.
    public init(name: String, shape: [Int], buffer: FloatBuffer, storage: StorageFormat = .f32Raw) {
        precondition(
            shape.reduce(1, *) == buffer.count, "tensor '\(name)': shape \(shape) does not match \(buffer.count) values"
        )
        self.name = name
        self.shape = shape
        self.values = buffer
        self.storage = storage
    }

    /// Number of elements (the product of `shape`).
    public var count: Int { values.count }
    /// The values copied into an array, for code that needs `[Float]` (copies a mapped tensor).
    public var array: [Float] { values.array }
}
