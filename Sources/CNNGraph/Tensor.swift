// A parameter tensor: a name, a shape, Float32 values, and how it is (to be) stored.
import CNNFormat

/// A parameter (weights, BN statistics, …). Values are Float32 in memory whatever the stored
/// type; `storage` records how the file stored them and how a writer will store them.
public struct Tensor: Sendable, Equatable {
    public var name: String
    /// Row-major dims; `[]` is a scalar.
    public var shape: [Int]
    public var values: FloatBuffer
    public var storage: StorageFormat

    public init(name: String, shape: [Int], values: [Float], storage: StorageFormat = .f32Raw) {
        self.init(name: name, shape: shape, buffer: FloatBuffer(values), storage: storage)
    }

    public init(name: String, shape: [Int], buffer: FloatBuffer, storage: StorageFormat = .f32Raw) {
        precondition(shape.reduce(1, *) == buffer.count, "tensor '\(name)': shape \(shape) does not match \(buffer.count) values")
        self.name = name
        self.shape = shape
        self.values = buffer
        self.storage = storage
    }

    public var count: Int { values.count }
    public var array: [Float] { values.array }
}
