// Scratch memory the kernels reuse between calls (im2col/col2im buffers), so a runtime that
// keeps one `Workspace` per executing thread allocates only when a larger layer first appears.

/// A growable, 64-byte-aligned scratch buffer. Not thread-safe: use one per thread of
/// execution. Pointers it returns stay valid until the next `buffer` call or its deinit.
public final class Workspace {
    private var raw: UnsafeMutableRawPointer?
    private var capacity = 0

    /// An empty workspace; memory is allocated by the first `buffer` call that needs it.
    public init() {}

    deinit { raw?.deallocate() }

    /// Bytes currently held.
    public var byteCapacity: Int { capacity }

    /// A buffer of at least `count` elements of `T`, uninitialized (for our trivial scalar
    /// types, contents are whatever was there before).
    public func buffer<T>(_ count: Int, of type: T.Type = T.self) -> UnsafeMutablePointer<T> {
        let bytes = max(1, count) * MemoryLayout<T>.stride
        if bytes > capacity {
            raw?.deallocate()
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            capacity = bytes
        }
        return raw!.bindMemory(to: T.self, capacity: max(1, count))
    }
}
