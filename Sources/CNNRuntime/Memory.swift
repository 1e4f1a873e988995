// Owned, 64-byte-aligned scalar storage for an executor's activations and converted parameters.
// Everything is allocated while planning; running allocates nothing of its own.
import CNNKernels

/// Holds every block an executor plan allocates and frees them together. Pointers it hands out
/// stay valid for its lifetime.
final class Memory<Scalar: KernelScalar> {
    private var blocks: [UnsafeMutableRawPointer] = []
    private(set) var byteCount = 0

    /// `count` zeroed elements.
    func allocate(_ count: Int) -> UnsafeMutablePointer<Scalar> {
        let n = max(1, count)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Scalar>.stride, alignment: 64)
        blocks.append(raw)
        byteCount += n * MemoryLayout<Scalar>.stride
        let p = raw.bindMemory(to: Scalar.self, capacity: n)
        p.initialize(repeating: 0, count: n)
        return p
    }

    /// Counts `bytes` the plan holds outside these blocks (oneDNN's reordered weights and buffers).
    func account(_ bytes: Int) { byteCount += bytes }

    /// A copy of `values`.
    func store(_ values: [Scalar]) -> UnsafeMutablePointer<Scalar> {
        let p = allocate(values.count)
        values.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: values.count) }
        return p
    }

    deinit { for b in blocks { b.deallocate() } }
}
