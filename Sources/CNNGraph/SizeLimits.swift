// How large a graph's values may be, and the overflow-checked integer arithmetic every size
// computed from a file goes through before anything is allocated.
import Foundation

/// Bounds on the memory a graph may ask for. A hostile or damaged file can declare a
/// 2^31×2^31 input, a batch of 2^40 or a Resize ×1e9; these limits turn such a model into a
/// typed error naming the node, before any allocation.
///
/// One knob, `maxActivationBytes` (16 GiB by default):
/// - every value (graph input or node output) must fit it alone as Float32, so a value holds
///   at most `maxActivationBytes / 4` elements (2^32 by default);
/// - the activation memory a plan needs at its batch size (the peak of the values alive at
///   once in validation; every buffer of the executor's plan, in its scalar type) must fit it.
///
/// Raise it for the rare real model that needs more (`cnnconv … --max-memory 64G`, or
/// `CNNCONV_MAX_MEMORY=64G`); it can never exceed `ceilingBytes` (4 TiB), which keeps every
/// product of a value's size and a kernel's size far from `Int.max`.
public struct SizeLimits: Sendable, Equatable, CustomStringConvertible {
    /// Bytes of activations a graph may need.
    public var maxActivationBytes: Int

    /// 16 GiB: large enough for real CNNs at usual batch sizes, small enough to refuse absurd files.
    public static let defaultMaxActivationBytes = 16 << 30
    /// 4 TiB, the hard cap on `maxActivationBytes`: it keeps every size product far from `Int.max`.
    public static let ceilingBytes = 1 << 42
    /// The variable the CLI reads the limit from (the option `--max-memory` wins).
    public static let environmentVariable = "CNNCONV_MAX_MEMORY"

    /// `maxActivationBytes` clamped to 1 KiB…`ceilingBytes`.
    public init(maxActivationBytes: Int = SizeLimits.defaultMaxActivationBytes) {
        self.maxActivationBytes = min(max(maxActivationBytes, 1 << 10), Self.ceilingBytes)
    }

    /// Elements a single value may hold (it must fit the limit alone as Float32).
    public var maxElementsPerValue: Int { maxActivationBytes / 4 }

    /// The limits used wherever a caller passes none. Process-wide, like `KernelThreads.count`:
    /// the CLI sets it once from `--max-memory` before loading anything.
    public static var standard: SizeLimits {
        get { lock.lock(); defer { lock.unlock() }; return _standard }
        set { lock.lock(); defer { lock.unlock() }; _standard = newValue }
    }
    private nonisolated(unsafe) static var _standard = SizeLimits()
    private static let lock = NSLock()

    /// A byte count as a user writes it: "16G", "512M", "64GiB", "1T", "1000000" (bytes;
    /// K/M/G/T are powers of 1024). nil when it is not one, is zero, or exceeds `ceilingBytes`.
    public static func parseBytes(_ text: String) -> Int? {
        var s = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where s.hasSuffix(suffix) { s.removeLast(suffix.count); break }
        var shift = 0
        if let last = s.last, let i = ["K", "M", "G", "T"].firstIndex(of: String(last)) {
            shift = 10 * (i + 1)
            s.removeLast()
        }
        guard !s.isEmpty, s.allSatisfy(\.isASCII), let n = Int(s), n > 0,
            n <= Self.ceilingBytes >> shift
        else { return nil }
        return n << shift
    }

    /// The limit as a user writes it ("16 GiB"), for error messages.
    public var description: String { formatBytes(maxActivationBytes) }
}

/// 16 GiB, 512 MiB, 1.5 KiB (binary units, as the limits are given).
public func formatBytes(_ n: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) bytes" }
    return (v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)) + " " + units[u]
}

/// Overflow-checked arithmetic for sizes from files: nil instead of a trap or a wrap.
extension Int {
    /// `self + other`, or nil on overflow: sizes from a file must not trap or wrap.
    @inlinable public func adding(checked other: Int) -> Int? {
        let (r, overflow) = addingReportingOverflow(other)
        return overflow ? nil : r
    }
    /// `self - other`, or nil on overflow (e.g. a window larger than the padded input's span).
    @inlinable public func subtracting(checked other: Int) -> Int? {
        let (r, overflow) = subtractingReportingOverflow(other)
        return overflow ? nil : r
    }
    /// `self × other`, or nil on overflow: the element and byte counts of values from a file.
    @inlinable public func multiplied(checked other: Int) -> Int? {
        let (r, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? nil : r
    }
    /// The product, or `Int.max` when it overflows (for reports: MACs, FLOPs).
    @inlinable public func multiplied(saturating other: Int) -> Int {
        let (r, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) != (other < 0) ? Int.min : Int.max) : r
    }
}

/// The number of elements of `shape`, or nil when a dimension is negative or the product
/// overflows `Int`.
public func checkedElementCount<C: Collection>(_ shape: C) -> Int? where C.Element == Int {
    var n = 1
    for d in shape {
        guard d >= 0, let m = n.multiplied(checked: d) else { return nil }
        n = m
    }
    return n
}

/// The product of `values`, saturating at `Int.max` (for reports; never for allocation).
public func saturatingProduct<C: Collection>(_ values: C) -> Int where C.Element == Int {
    values.reduce(1) { $0.multiplied(saturating: $1) }
}
