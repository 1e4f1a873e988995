// Float32 tensor values, owned, borrowed zero-copy from a mapped file, or computed on demand.
import Foundation

/// A tensor's values as Float32, either an owned array or a view into a `MappedFile`
/// (raw f32 tensors, 64-byte aligned). Value semantics: a borrowed view is immutable, and
/// mutation goes through `array` (a copy).
public struct FloatBuffer: Sendable, Equatable {
    enum Backing: Sendable {
        case owned([Float])
        case mapped(MappedFile, byteOffset: Int, count: Int)
        case computed(ComputedFloats)
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

    /// Values a function computes from others (a fold: `count` elements, `generate(start, out)`
    /// writes elements `start..<start + out.count` into `out`), made only when read. A writer
    /// streams them through a small buffer that stays in cache (`forEachChunk`, `copyValues`), so
    /// a folded model's weights never take memory of their own: on a VM every newly touched page
    /// costs a fault (≈ 0.6–1.5 ms per MB here), more than the arithmetic. Whole-buffer reads
    /// (`withUnsafeBufferPointer`, `array`) compute them once and keep the result.
    /// `generate` must be a pure function of the element index: it may run more than once, on
    /// any thread, for any range.
    public init(
        count: Int, generate: @escaping @Sendable (_ start: Int, _ out: UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        backing = .computed(ComputedFloats(count: count, generate: generate))
    }

    /// The element count, without copying a mapped buffer (sizes are checked before any read).
    public var count: Int {
        switch backing {
        case .owned(let a): return a.count
        case .mapped(_, _, let n): return n
        case .computed(let c): return c.count
        }
    }

    /// True while the values are computed on demand and not yet kept: whole-buffer reads would
    /// compute and keep them all, so a consumer that can work piece by piece should.
    public var isComputedOnDemand: Bool {
        if case .computed(let c) = backing { return c.cached == nil }
        return false
    }

    /// Elements per piece when `forEachChunk` computes values: 256 KiB, within a core's L2.
    static let chunkElements = 1 << 16

    /// Reads the values piece by piece, `body(start, values)` in order: the whole buffer at once
    /// when it is in memory, else computed into one reused buffer that stays in cache.
    public func forEachChunk<E: Error>(_ body: (_ start: Int, UnsafeBufferPointer<Float>) throws(E) -> Void) throws(E) {
        guard case .computed(let c) = backing, c.cached == nil else {
            try withUnsafeBufferPointer { (v) throws(E) in try body(0, v) }
            return
        }
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, min(c.count, Self.chunkElements)))
        defer { scratch.deallocate() }
        var start = 0, crc: UInt32 = 0
        while start < c.count {
            let piece = UnsafeMutableBufferPointer(rebasing: scratch[0..<min(scratch.count, c.count - start)])
            c.generate(start, piece)
            try body(start, UnsafeBufferPointer(piece))
            // While the piece is in cache: the checksum a writer needs, so that it need not
            // compute the values once more for it.
            crc = crc32(UnsafeRawBufferPointer(piece), continuing: crc)
            start += piece.count
        }
        c.rememberRawCRC32(crc)
    }

    /// The CRC-32 of the values' Float32 bytes as in memory (what a raw f32 writer stores) when
    /// a full `forEachChunk` pass over computed values already made it, else nil.
    public var knownRawCRC32: UInt32? {
        if case .computed(let c) = backing { return c.rawCRC32 }
        return nil
    }

    /// Writes elements `start..<start + out.count` into `out` (computed ones without keeping them).
    public func copyValues(from start: Int, into out: UnsafeMutableBufferPointer<Float>) {
        guard !out.isEmpty else { return }
        if case .computed(let c) = backing, c.cached == nil {
            c.generate(start, out)
            return
        }
        withUnsafeBufferPointer { v in out.baseAddress!.update(from: v.baseAddress! + start, count: out.count) }
    }

    /// True when the values are read straight from a file mapping (no copy was made).
    public var isMapped: Bool {
        if case .mapped = backing { return true }
        return false
    }

    /// Reads the values in place — zero-copy for a mapping — so kernels and encoders never pay for `array`.
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R
    {
        switch backing {
        case .owned(let a):
            return try a.withUnsafeBufferPointer { (p) throws(E) -> R in try body(p) }
        case .mapped(let file, let offset, let n):
            return try body(UnsafeBufferPointer(start: Self.pointer(file, offset), count: n))
        case .computed(let c):
            return try c.materialized().withUnsafeBufferPointer { (p) throws(E) -> R in try body(p) }
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
        case .mapped(let file, let offset, let n):
            return Array(UnsafeBufferPointer(start: Self.pointer(file, offset), count: n))
        case .computed(let c): return c.materialized()
        }
    }

    /// One value, for tests and small tensors; bulk reads should use `withUnsafeBufferPointer`.
    public subscript(index: Int) -> Float {
        switch backing {
        case .owned(let a): return a[index]
        case .mapped(let file, let offset, let n):
            precondition(index >= 0 && index < n, "FloatBuffer index out of range")
            return Self.pointer(file, offset)[index]
        case .computed(let c): return c.materialized()[index]
        }
    }

    /// Bit-for-bit equality (NaN equals the same NaN, -0 differs from +0): a round trip must give back
    /// the very bits written, which `==` on Float would not prove.
    public static func == (a: FloatBuffer, b: FloatBuffer) -> Bool {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                pa.count == pb.count && zip(pa, pb).allSatisfy { $0.bitPattern == $1.bitPattern }
            }
        }
    }
}

/// The computation behind a computed `FloatBuffer`, and its result once a whole-buffer read asked
/// for it (kept so that later reads cost nothing; the lock makes concurrent first reads safe).
final class ComputedFloats: @unchecked Sendable {
    let count: Int
    let generate: @Sendable (Int, UnsafeMutableBufferPointer<Float>) -> Void
    private let lock = NSLock()
    private var result: [Float]?
    private var crc: UInt32?

    init(count: Int, generate: @escaping @Sendable (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        self.count = count
        self.generate = generate
    }

    /// The CRC-32 of the values' bytes, once a pass over all of them made it.
    var rawCRC32: UInt32? {
        lock.lock(); defer { lock.unlock() }
        return crc
    }

    func rememberRawCRC32(_ value: UInt32) {
        lock.lock(); crc = value; lock.unlock()
    }

    /// The values when already computed in full, else nil.
    var cached: [Float]? {
        lock.lock(); defer { lock.unlock() }
        return result
    }

    func materialized() -> [Float] {
        lock.lock(); defer { lock.unlock() }
        if let result { return result }
        let values = [Float](unsafeUninitializedCapacity: count) { out, n in
            generate(0, out)
            n = count
        }
        result = values
        return values
    }
}
