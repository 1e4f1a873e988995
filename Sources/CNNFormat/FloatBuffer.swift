// Float32 tensor values, owned or borrowed zero-copy from a mapped file.

/// A tensor's values as Float32, either an owned array or a view into a `MappedFile`
/// (raw f32 tensors, 64-byte aligned). Value semantics: a borrowed view is immutable, and
/// mutation goes through `array` (a copy).
public struct FloatBuffer: Sendable, Equatable {
    enum Backing: Sendable {
        case owned([Float])
        case mapped(MappedFile, byteOffset: Int, count: Int)
    }
    let backing: Backing

    /// Values computed in memory (a fold, a conversion); they are written as whatever storage the tensor asks for.
    public init(_ values: [Float]) { backing = .owned(values) }

    /// A view of `count` floats at `pointer` inside `file`; the caller checked bounds and alignment.
    init(mapping file: MappedFile, byteOffset: Int, count: Int) {
        backing = .mapped(file, byteOffset: byteOffset, count: count)
    }

    @inline(__always)
    static func pointer(_ file: MappedFile, _ byteOffset: Int) -> UnsafePointer<Float> {
        (file.base! + byteOffset).assumingMemoryBound(to: Float.self)
    }

    /// The element count, without copying a mapped buffer (sizes are checked before any read).
    public var count: Int {
        switch backing {
        case .owned(let a): return a.count
        case .mapped(_, _, let n): return n
        }
    }

    /// True when the values are read straight from a file mapping (no copy was made).
    public var isMapped: Bool {
        if case .mapped = backing { return true }
        return false
    }

    /// Reads the values in place — zero-copy for a mapping — so kernels and encoders never pay for `array`.
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        switch backing {
        case .owned(let a):
            return try a.withUnsafeBufferPointer { (p) throws(E) -> R in try body(p) }
        case .mapped(let file, let offset, let n):
            return try body(UnsafeBufferPointer(start: Self.pointer(file, offset), count: n))
        }
    }

    /// For a mapped buffer: lets the kernel drop its pages from this process's memory (they
    /// are read back from the file if touched again). For an owned array: nothing.
    public func releaseMappedPages() {
        if case .mapped(let file, let offset, let n) = backing { file.releasePages(offset..<(offset + 4 * n)) }
    }

    /// The values as an array (a copy when mapped).
    public var array: [Float] {
        switch backing {
        case .owned(let a): return a
        case .mapped(let file, let offset, let n): return Array(UnsafeBufferPointer(start: Self.pointer(file, offset), count: n))
        }
    }

    /// One value, for tests and small tensors; bulk reads should use `withUnsafeBufferPointer`.
    public subscript(index: Int) -> Float {
        switch backing {
        case .owned(let a): return a[index]
        case .mapped(let file, let offset, let n):
            precondition(index >= 0 && index < n, "FloatBuffer index out of range")
            return Self.pointer(file, offset)[index]
        }
    }

    /// Bit-for-bit equality (NaN equals the same NaN, -0 differs from +0): a round trip must give back
    /// the very bits written, which `==` on Float would not prove.
    public static func == (a: FloatBuffer, b: FloatBuffer) -> Bool {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            pa.count == pb.count && zip(pa, pb).allSatisfy { $0.bitPattern == $1.bitPattern }
        } }
    }
}
