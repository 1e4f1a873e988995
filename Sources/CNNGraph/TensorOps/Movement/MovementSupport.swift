// Shared by the movement definitions: operand checks, overflow-checked sizes, integer lists read
// from ONNX inputs whose values may be INT64_MAX-style sentinels (Slice ends), and box copies.
import CNNKernels

enum Movement {
    /// Refuses an operand count other than `n`.
    static func expect(_ operands: [[Int]], _ n: Int) throws(TensorOpError) {
        guard operands.count == n else {
            throw TensorOpError("takes \(n) operand\(n == 1 ? "" : "s"), has \(operands.count)")
        }
    }

    /// a + b, refused on overflow.
    static func sum(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(TensorOpError) -> Int {
        let (r, o) = a.addingReportingOverflow(b)
        guard !o else { throw TensorOpError("\(what()) overflows") }
        return r
    }

    /// a · b, refused on overflow.
    static func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(TensorOpError) -> Int {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        guard !o else { throw TensorOpError("\(what()) overflows") }
        return r
    }

    /// The element count of a shape, refused past `Int`.
    static func count(_ shape: [Int]) throws(TensorOpError) -> Int {
        guard let n = TensorShapes.count(shape) else {
            throw TensorOpError("the shape \(formatShape(shape)) has too many elements")
        }
        return n
    }

    /// Values beyond this magnitude are sentinels ("to the end"): they clamp to it.
    static let sentinel = 1 << 62

    /// An integer-list input that must be constant; values beyond ±2^53 (INT64_MAX, INT64_MIN
    /// written as a float by the importer) become ±`sentinel`. Nil when absent.
    static func clampedInts(_ node: ONNXNodeView, _ i: Int, _ role: String) throws(TensorOpError) -> [Int]? {
        switch node.input(i) {
        case .absent: return nil
        case .value:
            throw TensorOpError("the \(role) input is computed at run time; only constant \(role) is supported")
        case .constant(let c):
            guard c.values.count <= TensorOps.maxAttributeValues else {
                throw TensorOpError("the \(role) input has \(c.values.count) values")
            }
            var out: [Int] = []
            out.reserveCapacity(c.values.count)
            for v in c.values {
                guard v.isFinite, v.rounded() == v else {
                    throw TensorOpError("the \(role) input holds \(v), not an integer")
                }
                out.append(abs(v) > 9_007_199_254_740_992 ? (v < 0 ? -sentinel : sentinel) : Int(v))
            }
            return out
        }
    }

    /// An integer-list attribute clamped the same way (Slice-1's ends of INT64_MAX).
    static func clamped(_ values: [Int]) -> [Int] { values.map { max(-sentinel, min(sentinel, $0)) } }

    /// A kernel copying operand 0 unchanged into output 0 (Reshape, Squeeze, Unsqueeze).
    static func copyKernel<T: KernelScalar>(count: Int) -> TensorKernel<T> {
        { operands, outputs in outputs[0].update(from: operands[0], count: count) }
    }

    /// The axes attribute (or input) of an ONNX node by opset: an attribute before `inputOpset`,
    /// the constant input `index` from it on.
    static func axes(_ node: ONNXNodeView, inputOpset: Int, index: Int) throws(TensorOpError) -> [Int]? {
        node.opset < inputOpset ? try node.ints("axes") : try node.constantInts(index, "axes")
    }
}
