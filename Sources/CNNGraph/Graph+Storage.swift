// Changing how a graph's parameters are stored (f32/f16/bf16, raw or compressed), with the
// values rounded as the new storage will hold them, so a graph in memory runs exactly as the
// file it will be written to.
import CNNFormat

extension Graph {
    /// This graph with every parameter stored as `format`: values rounded to its element type
    /// (no copy for f32), the storage recorded for the writer.
    public func storingParameters(as format: StorageFormat) -> Graph {
        var g = self
        g.mapParameters { t in
            guard t.storage != format else { return t }
            let values =
                format.elementType == t.storage.elementType || format.elementType == .float32
                ? t.values : FloatBuffer(format.roundTripped(t.array))
            return Tensor(name: t.name, shape: t.shape, buffer: values, storage: format)
        }
        return g
    }

    /// The narrowest element type any parameter is stored as (f32 when there are none): the
    /// rounding a file's weights went through.
    public var narrowestParameterStorage: StorageFormat.ElementType {
        var narrowest = StorageFormat.ElementType.float32
        for t in parameters where t.storage.elementType != .float32 {
            // bf16 keeps 8 significand bits, f16 11: bf16 is the coarser of the two.
            if t.storage.elementType == .bfloat16 || narrowest == .float32 { narrowest = t.storage.elementType }
        }
        return narrowest
    }
}
