// Test helpers: fixture paths, a comparison that reports the worst element, and deterministic
// inputs from a generator written here (not the code under test).
import CNNGraph
import CNNKernels
import CNNRuntime
@_exported import CNNTestSupport  // TestRandom and the fixture helpers, for every file here
import Foundation
import Testing

extension TestRandom {
    mutating func array<S: KernelScalar>(_ shape: [Int], _: S.Type = S.self, _ lo: Double = -1, _ hi: Double = 1)
        -> NDArray<S>
    {
        NDArray(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in S(Float(uniform(lo, hi))) })
    }
}

/// The worst violation of |ours − theirs| ≤ atol·(1 + |theirs|), as a message, or nil.
func mismatch<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ ours: [A], _ theirs: [B], atol: Double) -> String? {
    guard ours.count == theirs.count else { return "counts differ: \(ours.count) vs \(theirs.count)" }
    var worst = 0.0, at = -1
    for i in ours.indices {
        let a = Double(ours[i]), b = Double(theirs[i])
        let excess = abs(a - b) / (1 + abs(b))
        if !(excess <= atol) && (excess > worst || excess.isNaN || at < 0) { worst = excess; at = i }
    }
    if at < 0 { return nil }
    return
        "element \(at): ours \(Double(ours[at])), expected \(Double(theirs[at])) (|Δ|/(1+|e|) = \(worst), allowed \(atol))"
}

/// A one-input graph of `ops` applied in sequence to an input of `shape`.
func chain(_ shape: [Int], _ ops: [(String, Op)]) throws -> Graph {
    var b = GraphBuilder(name: "chain")
    var x = b.input("x", shape.map { .fixed($0) })
    for (name, op) in ops { x = b.add(name, op, x) }
    b.output(x)
    return try b.build()
}

func tensor(_ name: String, _ shape: [Int], _ values: [Float]) -> Tensor {
    Tensor(name: name, shape: shape, values: values)
}
