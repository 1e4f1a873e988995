// Every bound the importer puts on what a model may ask for, in one place. A file of a few
// hundred bytes can name shapes of 2^62 elements, attributes of 2^62, or fold a broadcast into
// terabytes; each size computed from a file is checked against these (with overflow-checked
// arithmetic) before anything is allocated, and the refusal names the node or tensor.

/// Limits on tensors, shapes, attributes and constant folding during ONNX import.
enum ImportLimits {
    /// The highest rank of any tensor or shape (ONNX models use ≤ 6; 16 leaves room).
    static let maxRank = 16
    /// The most elements one tensor (an initializer or a run-time value) may hold: 2^33 (32 GiB of
    /// float32), far beyond any CNN, and small enough that products of a few such sizes fit in Int.
    static let maxElements = 1 << 33
    /// The largest single dimension, and the largest window attribute (pads, strides, dilations,
    /// output padding, output shape, Resize sizes): 2^31. Sums and products of a few such values
    /// cannot overflow Int64, whatever later code computes from them.
    static let maxDimension = 1 << 31
    /// The most elements one constant-folded result may hold when it is larger than its inputs
    /// together (ConstantOfShape, Expand, Range, broadcasting, Gather, Concat): 2^25 (128 MiB of
    /// float32). Shape arithmetic needs a handful; a result no larger than its inputs always folds.
    static let maxFoldedElements = 1 << 25
    /// The least total number of elements all constant-folded results of one import may hold.
    static let minFoldBudget = 1 << 26
    /// Each element decoded from the file (initializers, Constant nodes) adds this many to the
    /// fold budget, so a big model can fold its own weights (e.g. a Cast of every weight).
    static let foldBudgetPerDecodedElement = 4
    /// The longest external-data location accepted (PATH_MAX on Linux).
    static let maxExternalPathLength = 4096

    /// `shape`'s element count, or nil when a dimension is negative, the rank is above
    /// `maxRank`, or the product overflows or exceeds `limit`.
    static func elementCount(_ shape: [Int], limit: Int = maxElements) -> Int? {
        guard shape.count <= maxRank else { return nil }
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        // A zero dimension makes the count 0 whatever follows; the loop above already stopped any overflow.
        return n <= limit ? n : nil
    }

    /// `a + b + …` or nil on overflow.
    static func sum(_ values: Int...) -> Int? {
        var s = 0
        for v in values {
            let (r, overflow) = s.addingReportingOverflow(v)
            guard !overflow else { return nil }
            s = r
        }
        return s
    }

    /// `a · b` or nil on overflow.
    static func product(_ a: Int, _ b: Int) -> Int? {
        let (r, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : r
    }
}
