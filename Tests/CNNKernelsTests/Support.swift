// Test helpers: a deterministic random source independent of the kernels' own PRNG, typed
// buffers built from Double data, and a comparison that reports the worst mismatch.

import CNNKernels
@_exported import CNNTestSupport  // TestRandom and the fixture helpers, for every file here
import Foundation
import Testing

extension TestRandom {
    mutating func int(_ r: ClosedRange<Int>) -> Int {
        r.lowerBound + Int(next() % UInt64(r.count))
    }
    mutating func bool() -> Bool { next() & 1 == 1 }
    /// `count` values uniform in [lo, hi), already rounded to `T` and returned as Double, so the
    /// reference sees exactly the values the kernel sees.
    mutating func values<T: KernelScalar>(_ count: Int, _: T.Type, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
        (0..<count).map { _ in Double(T(uniform(lo, hi))) }
    }
}

/// Relative tolerance per scalar type: ~1e-5 for Float, ~1e-12 for Double.
func tolerance<T: KernelScalar>(_: T.Type) -> Double { T.self == Float.self ? 1e-5 : 1e-12 }

/// Records an issue unless every `|got − ref| <= tol·(1 + |ref|)`; names the worst index.
func expectClose(
    _ got: [Double], _ ref: [Double], tolerance tol: Double, _ context: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard got.count == ref.count else {
        Issue.record("\(context()): \(got.count) values, expected \(ref.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = -1, worstRatio = 0.0
    for i in 0..<got.count {
        let err = abs(got[i] - ref[i])
        let ratio = err / (tol * (1 + abs(ref[i])))
        if ratio > worstRatio || (got[i].isNaN != ref[i].isNaN) {
            worstRatio = got[i].isNaN != ref[i].isNaN ? .infinity : ratio
            worst = i
        }
    }
    if worstRatio > 1 {
        Issue.record(
            "\(context()): index \(worst) got \(got[worst]) expected \(ref[worst]) (\(worstRatio)x tolerance)",
            sourceLocation: sourceLocation)
    }
}

/// Runs `body` with typed copies of `inputs` (Double → T) and an output of `outputCount`
/// elements pre-filled with NaN (so unwritten elements are caught), returning the output as Double.
func run<T: KernelScalar>(
    _: T.Type, _ inputs: [[Double]], outputCount: Int,
    _ body: ([UnsafePointer<T>], UnsafeMutablePointer<T>) throws -> Void
) rethrows -> [Double] {
    let typed = inputs.map { arr -> UnsafeMutablePointer<T> in
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, arr.count))
        for (i, v) in arr.enumerated() { p[i] = T(v) }
        return p
    }
    defer { for p in typed { p.deallocate() } }
    let out = UnsafeMutablePointer<T>.allocate(capacity: max(1, outputCount))
    defer { out.deallocate() }
    out.initialize(repeating: .nan, count: max(1, outputCount))
    try body(typed.map { UnsafePointer($0) }, out)
    return (0..<outputCount).map { Double(out[$0]) }
}

/// Both scalar types, for parameterized tests.
enum Precision: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case float, double
    var testDescription: String { rawValue }
}
