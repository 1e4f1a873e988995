// Shape arithmetic shared by the tensor-op definitions: axes, numpy broadcasting, strides.

/// Shape arithmetic the tensor-op definitions, the importer's rewrites and the kernels share,
/// so that an axis or a broadcast is normalized one way everywhere.
public enum TensorShapes {
    /// `axis` in [−rank, rank) (or [−rank−1, rank] with `allowRank`) as a non-negative axis.
    public static func axis(_ axis: Int, rank: Int, allowRank: Bool = false, what: String = "axis")
        throws(TensorOpError) -> Int
    {
        let limit = allowRank ? rank + 1 : rank
        let a = axis < 0 ? axis + limit : axis
        guard a >= 0, a < limit else { throw TensorOpError("\(what) \(axis) is out of range for rank \(rank)") }
        return a
    }

    /// Distinct normalized axes, sorted.
    public static func axes(_ axes: [Int], rank: Int, allowRank: Bool = false) throws(TensorOpError) -> [Int] {
        var out: [Int] = []
        for a in axes { out.append(try axis(a, rank: rank, allowRank: allowRank)) }
        guard Set(out).count == out.count else { throw TensorOpError("axes \(axes) repeat an axis") }
        return out.sorted()
    }

    /// Refuses a rank above `TensorOps.maxRank`.
    static func checkRank(_ shape: [Int], _ what: String = "operand") throws(TensorOpError) {
        guard shape.count <= TensorOps.maxRank else {
            throw TensorOpError("the \(what) has rank \(shape.count); at most \(TensorOps.maxRank) is supported")
        }
    }

    /// The numpy broadcast of `shapes` (dimensions aligned at the right; 1 stretches).
    public static func broadcast(_ shapes: [[Int]]) throws(TensorOpError) -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        guard rank <= TensorOps.maxRank else {
            throw TensorOpError("an operand has rank \(rank); at most \(TensorOps.maxRank) is supported")
        }
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            for (k, d) in s.enumerated() {
                let i = rank - s.count + k
                if out[i] == 1 {
                    out[i] = d
                } else if d != 1 && d != out[i] {
                    // As onnxruntime says it: the shapes are incompatible, not "in need of broadcasting".
                    throw TensorOpError(
                        "shapes \(shapes.map(formatShape).joined(separator: " and ")) are incompatible: they do not broadcast (axis \(i): \(out[i]) against \(d); only a size of 1 stretches)"
                    )
                }
            }
        }
        return out
    }

    /// Row-major strides of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in shape.indices.reversed() { s[i] = acc; acc = acc &* shape[i] }
        return s
    }

    /// Strides of `shape` read as `target` under broadcasting: 0 along stretched axes.
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        return target.indices.map { i in
            let k = i - offset
            return k < 0 || shape[k] == 1 ? 0 : own[k]
        }
    }

    /// The element count, nil past `Int`.
    public static func count(_ shape: [Int]) -> Int? {
        shape.reduce(Optional(1)) { acc, d in
            acc.flatMap { d >= 0 ? $0.multipliedReportingOverflow(by: d).overflow ? nil : $0 * d : nil }
        }
    }

    /// Calls `body(outputIndex, sourceOffset)` for every element of `shape` in row-major order,
    /// with the offset into a source whose strides are `sourceStrides` (any, including 0).
    @inline(__always)
    public static func forEachOffset(_ shape: [Int], _ sourceStrides: [Int], _ body: (Int, Int) -> Void) {
        let rank = shape.count
        let n = shape.reduce(1, *)
        if n == 0 { return }
        if rank == 0 { body(0, 0); return }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        let last = rank - 1
        let inner = shape[last], innerStride = sourceStrides[last]
        var i = 0
        while i < n {
            var o = offset
            for k in 0..<inner { body(i + k, o); o += innerStride }
            i += inner
            // Advance the outer index (axes before the last).
            var a = last - 1
            while a >= 0 {
                index[a] += 1
                offset += sourceStrides[a]
                if index[a] < shape[a] { break }
                offset -= sourceStrides[a] * shape[a]
                index[a] = 0
                a -= 1
            }
        }
    }
}
