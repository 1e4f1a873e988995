// Evaluates at import time the ops whose inputs are all known: Constant, shape arithmetic
// (Shape/Gather/Slice/Concat/Unsqueeze/…) and element-wise math on initializers. What it
// computes never becomes a graph node; it feeds weights, Reshape targets, Resize scales.
import Foundation

enum ShapeMath {
    /// The element count of a shape already known to be bounded (an existing tensor's, or a
    /// run-time value's checked at import). Shapes read from a file go through
    /// `ImportLimits.elementCount` instead.
    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in shape.indices.reversed() { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// NumPy broadcasting of several shapes, or nil when they do not broadcast (or a dimension is
    /// negative, or the rank is above `ImportLimits.maxRank`).
    static func broadcast(_ shapes: [[Int]]) -> [Int]? {
        let rank = shapes.map(\.count).max() ?? 0
        guard rank <= ImportLimits.maxRank, shapes.allSatisfy({ $0.allSatisfy { $0 >= 0 } }) else { return nil }
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            for i in 0..<rank where padded[i] != 1 {
                if out[i] == 1 { out[i] = padded[i] } else if out[i] != padded[i] { return nil }
            }
        }
        return out
    }

    /// Calls `body(flat, offsets)` for every element of `out` (row-major), where `offsets[k]` is
    /// the flat index of the element of a tensor of `shapes[k]` that broadcasts to it. Needs no
    /// memory per element, so a large broadcast costs only its result.
    static func forEachBroadcast(_ shapes: [[Int]], to out: [Int], _ body: (_ flat: Int, _ offsets: [Int]) -> Void) {
        let rank = out.count
        let n = count(out)
        guard n > 0 else { return }
        // How far each operand's flat index moves when output index d grows by one (0 where it broadcasts).
        let steps: [[Int]] = shapes.map { s in
            let padded = [Int](repeating: 1, count: rank - s.count) + s
            let st = strides(padded)
            return (0..<rank).map { padded[$0] == 1 ? 0 : st[$0] }
        }
        var index = [Int](repeating: 0, count: rank)
        var offsets = [Int](repeating: 0, count: shapes.count)
        for flat in 0..<n {
            body(flat, offsets)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                for k in offsets.indices { offsets[k] += steps[k][d] }
                if index[d] < out[d] { break }
                for k in offsets.indices { offsets[k] -= steps[k][d] * out[d] }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// For every element of `out` (row-major), the flat index into a tensor of `shape` that
    /// broadcasts to it.
    static func broadcastIndices(from shape: [Int], to out: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: count(out))
        forEachBroadcast([shape], to: out) { flat, offsets in result[flat] = offsets[0] }
        return result
    }

    /// Flat source indices of `shape` transposed by `perm`.
    static func transposeIndices(_ shape: [Int], perm: [Int]) -> ([Int], [Int]) {
        let outShape = perm.map { shape[$0] }
        let inStrides = strides(shape)
        let permStrides = perm.map { inStrides[$0] }
        let n = count(shape)
        var result = [Int](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<n {
            var src = 0
            for d in 0..<index.count { src += index[d] * permStrides[d] }
            result[flat] = src
            var d = outShape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return (result, outShape)
    }

    /// Resolves an ONNX Reshape target against `input` (0 copies unless `allowZero`, −1 infers);
    /// nil when it does not fit (any size computed from the target is overflow-checked).
    static func reshapeTarget(_ target: [Int], input: [Int], allowZero: Bool) -> [Int]? {
        guard target.count <= ImportLimits.maxRank, let total = ImportLimits.elementCount(input) else { return nil }
        var out = target
        var inferAt: Int? = nil
        for (i, d) in target.enumerated() {
            if d == 0 && !allowZero {
                guard i < input.count else { return nil }
                out[i] = input[i]
            } else if d == -1 {
                guard inferAt == nil else { return nil }
                inferAt = i
            } else if d < 0 {
                return nil
            }
        }
        if let at = inferAt {
            var known = out
            known.remove(at: at)
            guard let k = ImportLimits.elementCount(known), k > 0, total % k == 0 else { return nil }
            out[at] = total / k
        }
        return ImportLimits.elementCount(out) == total ? out : nil
    }
}

/// Evaluates one node whose inputs are all constants. Every result is sized before it is
/// allocated: a result larger than its inputs together is bounded by
/// `ImportLimits.maxFoldedElements`, and all results of one import share a budget.
final class ConstantFolder {
    let opset: Int
    let externalData: ExternalDataFolder?
    /// Elements folded results may still take (see `ImportLimits.minFoldBudget`).
    private(set) var budget: Int

    /// `decodedElements`: how many elements the model's initializers hold (grows the budget).
    init(opset: Int, externalData: ExternalDataFolder?, decodedElements: Int) {
        self.opset = opset
        self.externalData = externalData
        budget = ImportLimits.minFoldBudget
        grow(byDecoded: decodedElements)
    }

    /// Tensors decoded from the file (initializers, Constant nodes) let the model fold as much again.
    func grow(byDecoded n: Int) {
        let extra = ImportLimits.product(n, ImportLimits.foldBudgetPerDecodedElement) ?? Int.max
        budget = ImportLimits.sum(budget, extra) ?? Int.max
    }

    /// Ops evaluated when every input is known.
    static let foldable: Set<String> = [
        "Constant", "ConstantOfShape", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast",
        "Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Equal", "Less", "Greater", "Where", "Neg", "Sqrt",
        "Reciprocal", "Floor", "Ceil", "Abs", "Reshape", "Transpose", "Flatten", "Identity", "Expand", "Range",
        "Dropout", "Not", "CastLike",
    ]
    /// Ops that only ever appear in shape arithmetic: on a run-time activation they are refused.
    static let foldOnly: Set<String> = [
        "Constant", "ConstantOfShape", "Gather", "Slice", "Cast", "Pow", "Min", "Max", "Equal", "Less", "Greater",
        "Where", "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil", "Abs", "Expand", "Range", "Not", "CastLike",
    ]

    func fold(_ node: Onnx_NodeProto, name: String, inputs ins: [ConstTensor?]) throws(ONNXError) -> [ConstTensor] {
        let attrs = NodeAttributes(node, name: name)
        let op = node.opType
        func fail(_ m: String) -> ONNXError { .unsupportedUsage(node: name, opType: op, message: m) }
        func input(_ i: Int) throws(ONNXError) -> ConstTensor {
            guard i < ins.count, let t = ins[i] else { throw fail("input \(i) is required") }
            return t
        }
        func optional(_ i: Int) -> ConstTensor? { i < ins.count ? ins[i] : nil }
        func axis(_ a: Int, rank: Int, allowRank: Bool = false) throws(ONNXError) -> Int {
            let v = a < 0 ? a + rank + (allowRank ? 1 : 0) : a
            guard v >= 0, v < rank + (allowRank ? 1 : 0) else {
                throw attrs.fail("axis", "\(a) is out of range for rank \(rank)")
            }
            return v
        }
        /// Checks a result's shape and takes its elements from the budget, before it is computed.
        func reserve(_ shape: [Int]) throws(ONNXError) -> Int {
            guard shape.count <= ImportLimits.maxRank else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message: "the result would have rank \(shape.count); at most \(ImportLimits.maxRank) is supported")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("the result's shape \(shape) has a negative dimension")
            }
            var inputs = 0
            for t in ins { inputs = ImportLimits.sum(inputs, t?.count ?? 0) ?? Int.max }
            let limit = max(ImportLimits.maxFoldedElements, inputs)
            guard let n = ImportLimits.elementCount(shape, limit: limit) else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message:
                        "the result of shape \(shape) would hold more than \(limit) elements, the most a value computed at import may hold"
                )
            }
            guard n <= budget else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message:
                        "its \(n)-element result would take the values computed at import past their budget (\(budget) elements left)"
                )
            }
            budget -= n
            return n
        }

        switch op {
        case "Constant":
            if let t = try attrs.tensor("value") {
                let c = try TensorDecoder.decode(t, externalData: externalData, nameOverride: node.output.first)
                grow(byDecoded: c.count)
                return [c]
            }
            if let f = try attrs.float("value_float") { return [ConstTensor(shape: [], floats: [f])] }
            if let f = try attrs.floats("value_floats") { return [ConstTensor(shape: [f.count], floats: f)] }
            if let i = try attrs.int("value_int") { return [ConstTensor(shape: [], ints: [Int64(i)])] }
            if let i = try attrs.ints("value_ints") {
                return [ConstTensor(shape: [i.count], ints: i.map { Int64($0) })]
            }
            throw fail("only tensor, float(s) and int(s) values are supported (\(attrs.names.joined(separator: ", ")))")
        case "ConstantOfShape":
            let shape = try input(0).ints
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("shape \(shape) has a negative dimension") }
            let n = try reserve(shape)
            var fill = ConstTensor(shape: [], floats: [0])
            if let t = try attrs.tensor("value") { fill = try TensorDecoder.decode(t, externalData: externalData) }
            guard fill.count == 1 else { throw attrs.fail("value", "must hold one element") }
            switch fill.values {
            case .float(let v): return [ConstTensor(shape: shape, floats: [Float](repeating: v[0], count: n))]
            case .int(let v): return [ConstTensor(shape: shape, ints: [Int64](repeating: v[0], count: n))]
            }
        case "Shape":
            var dims = try input(0).shape.map { Int64($0) }
            if opset >= 15 {
                let r = dims.count
                var start = try attrs.int("start", default: 0), end = try attrs.int("end") ?? r
                if start < 0 { start += r }; if end < 0 { end += r }
                start = min(max(start, 0), r); end = min(max(end, start), r)
                dims = Array(dims[start..<end])
            }
            return [ConstTensor(shape: [dims.count], ints: dims)]
        case "Size":
            return [ConstTensor(shape: [], ints: [Int64(try input(0).count)])]
        case "Identity", "Dropout":
            var t = try input(0); t.name = nil
            return [t]
        case "Cast", "CastLike":
            let x = try input(0)
            let to: Int32
            if op == "CastLike" {
                to = try input(1).isFloat ? 1 : 7
            } else {
                guard let v = try attrs.int("to") else { throw attrs.fail("to", "is required") }
                guard let t = Int32(exactly: v) else { throw attrs.fail("to", "type \(v) is not an ONNX data type") }
                to = t
            }
            guard let type = ONNXDataType(rawValue: to), type != .string else {
                throw attrs.fail("to", "type \(to) is not supported")
            }
            if type.isFloatingPoint { return [ConstTensor(shape: x.shape, floats: x.floats)] }
            if type == .bool { return [ConstTensor(shape: x.shape, ints: x.doubles.map { $0 != 0 ? 1 : 0 })] }
            return [ConstTensor(shape: x.shape, ints: x.int64s)]
        case "Reshape":
            let x = try input(0)
            let target: [Int]
            if opset < 5 { target = try attrs.ints("shape") ?? [] } else { target = try input(1).ints }
            guard
                let s = ShapeMath.reshapeTarget(
                    target, input: x.shape, allowZero: try attrs.int("allowzero", default: 0) != 0)
            else {
                throw fail(
                    "cannot reshape \(x.shape) to \(target.count <= ImportLimits.maxRank ? "\(target)" : "a rank-\(target.count) shape")"
                )
            }
            return [ConstTensor(shape: s, values: x.values)]
        case "Flatten":
            let x = try input(0)
            let a = try axis(try attrs.int("axis", default: 1), rank: x.shape.count, allowRank: true)
            let s = [ShapeMath.count(Array(x.shape[..<a])), ShapeMath.count(Array(x.shape[a...]))]
            return [ConstTensor(shape: s, values: x.values)]
        case "Unsqueeze", "Squeeze":
            let x = try input(0)
            let axes: [Int]?
            if opset >= 13 { axes = optional(1)?.ints } else { axes = try attrs.ints("axes") }
            var shape = x.shape
            if op == "Unsqueeze" {
                guard let axes else { throw fail("axes are required") }
                let rank = shape.count + axes.count
                guard rank <= ImportLimits.maxRank else {
                    throw .limitExceeded(
                        node: name, opType: op,
                        message: "the result would have rank \(rank); at most \(ImportLimits.maxRank) is supported")
                }
                var normalized: [Int] = []
                for a in axes { normalized.append(try axis(a, rank: rank)) }
                for a in normalized.sorted() { shape.insert(1, at: min(a, shape.count)) }
            } else if let axes {
                guard axes.count <= shape.count else {
                    throw fail("\(axes.count) axes to squeeze from rank \(shape.count)")
                }
                var normalized = Set<Int>()
                for a in axes { normalized.insert(try axis(a, rank: shape.count)) }
                for a in normalized where shape[a] != 1 { throw fail("cannot squeeze axis \(a) of size \(shape[a])") }
                shape = shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
            } else {
                shape = shape.filter { $0 != 1 }
            }
            return [ConstTensor(shape: shape, values: x.values)]
        case "Transpose":
            let x = try input(0)
            let perm = try attrs.ints("perm") ?? Array((0..<x.shape.count).reversed())
            guard perm.sorted() == Array(0..<x.shape.count) else {
                throw attrs.fail("perm", "\(perm) is not a permutation of the \(x.shape.count) axes")
            }
            let (idx, shape) = ShapeMath.transposeIndices(x.shape, perm: perm)
            return [x.gathering(idx, shape: shape)]
        case "Concat":
            let parts = ins.compactMap { $0 }
            guard let first = parts.first else { throw fail("no inputs") }
            let a = try axis(try attrs.int("axis") ?? 0, rank: first.shape.count)
            var shape = first.shape
            shape[a] = 0
            for p in parts {
                guard p.shape.count == first.shape.count,
                    p.shape.indices.allSatisfy({ $0 == a || p.shape[$0] == first.shape[$0] })
                else { throw fail("inputs differ off axis \(a)") }
                guard let s = ImportLimits.sum(shape[a], p.shape[a]) else {
                    throw fail("the concatenated axis overflows")
                }
                shape[a] = s
            }
            _ = try reserve(shape)
            let outer = ShapeMath.count(Array(first.shape[..<a]))
            let inners = parts.map { ShapeMath.count(Array($0.shape[a...])) }
            // Row o of the result is row o of every part, one after another.
            func rows<T>(_ parts: [[T]]) -> [T] {
                var out: [T] = []
                out.reserveCapacity(ShapeMath.count(shape))
                for o in 0..<outer {
                    for (k, inner) in inners.enumerated() {
                        out.append(contentsOf: parts[k][(o * inner)..<((o + 1) * inner)])
                    }
                }
                return out
            }
            if parts.contains(where: { $0.isFloat }) {
                return [ConstTensor(shape: shape, floats: rows(parts.map(\.floats)))]
            }
            return [ConstTensor(shape: shape, ints: rows(parts.map(\.int64s)))]
        case "Gather":
            let data = try input(0), indices = try input(1)
            guard !data.shape.isEmpty else { throw fail("data is a scalar") }
            let a = try axis(try attrs.int("axis", default: 0), rank: data.shape.count)
            let shape = Array(data.shape[..<a]) + indices.shape + Array(data.shape[(a + 1)...])
            _ = try reserve(shape)
            let outer = ShapeMath.count(Array(data.shape[..<a]))
            let inner = ShapeMath.count(Array(data.shape[(a + 1)...]))
            let n = data.shape[a]
            var picked: [Int] = []
            for i in indices.ints {
                let j = i < 0 ? i + n : i
                guard j >= 0, j < n else { throw fail("index \(i) is out of range for axis size \(n)") }
                picked.append(j)
            }
            var idx: [Int] = []
            idx.reserveCapacity(outer * picked.count * inner)
            for o in 0..<outer {
                for j in picked { for k in 0..<inner { idx.append((o * n + j) * inner + k) } }
            }
            return [data.gathering(idx, shape: shape)]
        case "Slice":
            let x = try input(0)
            var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
            if opset < 10 {
                starts = try attrs.ints("starts") ?? []; ends = try attrs.ints("ends") ?? [];
                axes = try attrs.ints("axes"); steps = nil
            } else {
                starts = try input(1).ints; ends = try input(2).ints; axes = optional(3)?.ints;
                steps = optional(4)?.ints
            }
            let r = x.shape.count
            let ax = axes ?? Array(0..<starts.count)
            let st = steps ?? [Int](repeating: 1, count: starts.count)
            guard ax.count == starts.count, ends.count == starts.count, st.count == starts.count else {
                throw fail("starts/ends/axes/steps differ in length")
            }
            var begin = [Int](repeating: 0, count: r), stop = x.shape, step = [Int](repeating: 1, count: r)
            for k in 0..<ax.count {
                let a = try axis(ax[k], rank: r)
                let dim = x.shape[a]
                guard st[k] != 0 else { throw fail("a step is 0") }
                // A step longer than the axis takes one element, as a step of the axis' length does.
                step[a] = min(max(st[k], -max(dim, 1)), max(dim, 1))
                var s = starts[k], e = ends[k]
                if s < 0 { s += dim }; if e < 0 { e += dim }
                if st[k] > 0 {
                    s = min(max(s, 0), dim); e = min(max(e, 0), dim)
                } else {
                    s = min(max(s, -1), dim - 1); e = min(max(e, -1), dim - 1)
                }
                begin[a] = s; stop[a] = e
            }
            var perAxis: [[Int]] = []
            for a in 0..<r { perAxis.append(Array(stride(from: begin[a], to: stop[a], by: step[a]))) }
            let shape = perAxis.map(\.count)
            let strides = ShapeMath.strides(x.shape)
            var idx: [Int] = [0]
            for a in 0..<r { idx = idx.flatMap { base in perAxis[a].map { base + $0 * strides[a] } } }
            return [x.gathering(ShapeMath.count(shape) == 0 ? [] : idx, shape: shape)]
        case "Expand":
            let x = try input(0)
            let target = try input(1).ints
            guard target.count <= ImportLimits.maxRank else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message: "the target shape has rank \(target.count); at most \(ImportLimits.maxRank) is supported")
            }
            guard target.allSatisfy({ $0 >= 0 }) else {
                throw fail("the target shape \(target) has a negative dimension")
            }
            guard let shape = ShapeMath.broadcast([x.shape, target]) else {
                throw fail("cannot expand \(x.shape) to \(target)")
            }
            _ = try reserve(shape)
            return [x.gathering(ShapeMath.broadcastIndices(from: x.shape, to: shape), shape: shape)]
        case "Range":
            let start = try input(0), limit = try input(1), delta = try input(2)
            guard let s = start.scalar, let l = limit.scalar, let d = delta.scalar, d != 0 else {
                throw fail("start, limit and delta must be scalars, delta ≠ 0")
            }
            guard s.isFinite, l.isFinite, d.isFinite else {
                throw fail("start \(s), limit \(l) and delta \(d) must be finite")
            }
            let steps = ((l - s) / d).rounded(.up)
            guard steps.isFinite, steps <= Double(ImportLimits.maxElements) else {
                throw .limitExceeded(
                    node: name, opType: op, message: "a range from \(s) to \(l) by \(d) would hold \(steps) elements")
            }
            let n = try reserve([steps > 0 ? Int(steps) : 0])
            return [start.with(shape: [n], doubles: (0..<n).map { s + Double($0) * d })]
        case "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil", "Abs", "Not":
            let x = try input(0)
            let f: (Double) -> Double
            switch op {
            case "Neg": f = { -$0 }
            case "Sqrt": f = { $0.squareRoot() }
            case "Reciprocal": f = { 1 / $0 }
            case "Floor": f = { $0.rounded(.down) }
            case "Ceil": f = { $0.rounded(.up) }
            case "Not": f = { $0 == 0 ? 1 : 0 }
            default: f = { Swift.abs($0) }
            }
            if case .float(let a) = x.values {
                // Float32 arithmetic, as a runtime would compute it.
                let g: (Float) -> Float
                switch op {
                case "Neg": g = { -$0 }
                case "Sqrt": g = { $0.squareRoot() }
                case "Reciprocal": g = { 1 / $0 }
                default: g = { Float(f(Double($0))) }
                }
                return [ConstTensor(shape: x.shape, floats: a.map(g))]
            }
            return [x.with(shape: x.shape, doubles: x.doubles.map(f))]
        case "Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Equal", "Less", "Greater":
            let operands = ins.compactMap { $0 }
            guard operands.count >= 2 || ((op == "Min" || op == "Max") && operands.count == 1) else {
                throw fail("needs two inputs")
            }
            guard let shape = ShapeMath.broadcast(operands.map(\.shape)) else {
                throw fail("inputs \(operands.map(\.shape)) do not broadcast")
            }
            let n = try reserve(shape)
            let comparison = op == "Equal" || op == "Less" || op == "Greater"
            let allFloat = operands.allSatisfy { $0.isFloat }
            let anyFloat = operands.contains { $0.isFloat }
            func apply(_ x: Double, _ y: Double) -> Double {
                var v: Double
                switch op {
                case "Add": v = x + y
                case "Sub": v = x - y
                case "Mul": v = x * y
                case "Div": v = anyFloat ? x / y : (y == 0 ? 0 : (x / y).rounded(.towardZero))
                case "Pow": v = pow(x, y)
                case "Min": v = Swift.min(x, y)
                case "Max": v = Swift.max(x, y)
                case "Equal": v = x == y ? 1 : 0
                case "Less": v = x < y ? 1 : 0
                default: v = x > y ? 1 : 0
                }
                // Float32 inputs give Float32 results: round every step as a runtime would.
                if allFloat && !comparison { v = Double(Float(v)) }
                return v
            }
            let values = operands.map(\.doubles)
            var result = [Double](repeating: 0, count: n)
            ShapeMath.forEachBroadcast(operands.map(\.shape), to: shape) { flat, o in
                var acc = values[0][o[0]]
                for k in 1..<values.count { acc = apply(acc, values[k][o[k]]) }
                result[flat] = acc
            }
            if comparison || !anyFloat {
                return [
                    ConstTensor(
                        shape: shape, ints: result.map { Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? 0) }
                    )
                ]
            }
            return [ConstTensor(shape: shape, floats: result.map { Float($0) })]
        case "Where":
            let c = try input(0), x = try input(1), y = try input(2)
            guard let shape = ShapeMath.broadcast([c.shape, x.shape, y.shape]) else {
                throw fail("inputs do not broadcast")
            }
            let n = try reserve(shape)
            let cv = c.doubles, xv = x.doubles, yv = y.doubles
            var out = [Double](repeating: 0, count: n)
            ShapeMath.forEachBroadcast([c.shape, x.shape, y.shape], to: shape) { flat, o in
                out[flat] = cv[o[0]] != 0 ? xv[o[1]] : yv[o[2]]
            }
            return [x.with(shape: shape, doubles: out)]
        default:
            throw ONNXError.unsupportedOp(
                node: name, opType: op, domain: node.domain, supported: ONNXImporter.supportedOps)
        }
    }
}
