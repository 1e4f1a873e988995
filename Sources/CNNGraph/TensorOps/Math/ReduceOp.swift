// The ONNX Reduce* family (ReduceMean, ReduceSum, ReduceMax, …): one definition per kind, all
// sharing this shape rule, import and kernel. Axes are an attribute up to opset 17 (ReduceSum: 12)
// and a constant input from then on; the op stores them as the attribute `axes` either way.
// No axes reduces every axis, unless `noop_with_empty_axes` is 1 (then the op is the identity).
import CNNKernels

struct ReduceOp: TensorOpDefinition {
    let name: String
    let kind: ReduceKind
    let summary: String

    static let all: [ReduceOp] = [
        ReduceOp(
            name: "ReduceSum", kind: .sum, summary: "y = Σ x over `axes` (all when none; keepdims keeps them as size 1)"
        ),
        ReduceOp(
            name: "ReduceMean", kind: .mean,
            summary: "y = mean of x over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceMax", kind: .max,
            summary: "y = max of x over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceMin", kind: .min,
            summary: "y = min of x over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceProd", kind: .prod,
            summary: "y = Π x over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceL1", kind: .l1, summary: "y = Σ |x| over `axes` (all when none; keepdims keeps them as size 1)"
        ),
        ReduceOp(
            name: "ReduceL2", kind: .l2,
            summary: "y = √(Σ x²) over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceSumSquare", kind: .sumSquare,
            summary: "y = Σ x² over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceLogSum", kind: .logSum,
            summary: "y = log Σ x over `axes` (all when none; keepdims keeps them as size 1)"),
        ReduceOp(
            name: "ReduceLogSumExp", kind: .logSumExp,
            summary: "y = log Σ eˣ over `axes` (all when none; keepdims keeps them as size 1)"),
    ]

    /// The opset from which the axes are an input rather than an attribute.
    var axesInputOpset: Int { kind == .sum ? 13 : 18 }

    /// The reduced axes (sorted, non-negative), nil for the identity.
    func reducedAxes(_ op: TensorOp, rank: Int) throws(TensorOpError) -> [Int]? {
        let axes = try op.ints("axes", default: [])
        let noop = try op.int("noop_with_empty_axes", default: 0)
        guard noop == 0 || noop == 1 else {
            throw TensorOpError("attribute 'noop_with_empty_axes' is \(noop), must be 0 or 1")
        }
        if axes.isEmpty { return noop == 1 ? nil : Array(0..<rank) }
        guard axes.count <= TensorOps.maxRank else {
            throw TensorOpError("axes \(axes) has more axes than any operand")
        }
        return try TensorShapes.axes(axes, rank: rank)
    }

    func keepDims(_ op: TensorOp) throws(TensorOpError) -> Bool {
        let v = try op.int("keepdims", default: 1)
        guard v == 0 || v == 1 else { throw TensorOpError("attribute 'keepdims' is \(v), must be 0 or 1") }
        return v == 1
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 1 else { throw TensorOpError("takes 1 operand, has \(operands.count)") }
        let x = operands[0]
        try TensorShapes.checkRank(x)
        let keep = try keepDims(op)
        guard let axes = try reducedAxes(op, rank: x.count) else { return [x] }
        let reduced = Set(axes)
        return [x.indices.compactMap { reduced.contains($0) ? (keep ? 1 : nil) : x[$0] }]
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        operands.first.flatMap { TensorShapes.count($0) } ?? 0
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0]
        guard let axes = try reducedAxes(op, rank: x.count) else {
            let count = TensorShapes.count(x) ?? 0
            return { operands, outputs in outputs[0].update(from: operands[0], count: count) }
        }
        if let first = axes.first, let last = axes.last, last - first + 1 == axes.count {
            // One block of neighbouring axes: [outer, reduced, inner] loops, no shape walk.
            let outer = x[..<first].reduce(1, *), reduced = x[first...last].reduce(1, *),
                inner = x[(last + 1)...].reduce(1, *)
            let kind = self.kind
            return { operands, outputs in
                reduce(kind, input: operands[0], outer: outer, reduced: reduced, inner: inner, output: outputs[0])
            }
        }
        let reducedSet = Set(axes)
        let kept = x.indices.map { reducedSet.contains($0) ? 1 : x[$0] }
        let outputStrides = zip(TensorShapes.strides(kept), x.indices).map { reducedSet.contains($1) ? 0 : $0 }
        let reduced = axes.reduce(1) { $0 * x[$1] }
        let outputCount = TensorShapes.count(kept) ?? 0
        let kind = self.kind
        return { operands, outputs in
            reduce(
                kind, input: operands[0], traverse: { body in TensorShapes.forEachOffset(x, outputStrides, body) },
                reduced: reduced, output: outputs[0], outputCount: outputCount)
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var attributes: [String: AttributeValue] = ["keepdims": .int(try node.int("keepdims", default: 1))]
        let axes: [Int]?
        if node.opset >= axesInputOpset {
            axes = try node.constantInts(1, "axes")
            let noop = try node.int("noop_with_empty_axes", default: 0)
            if noop != 0 { attributes["noop_with_empty_axes"] = .int(noop) }
        } else {
            axes = try node.ints("axes")
        }
        if let axes, !axes.isEmpty { attributes["axes"] = .ints(axes) }
        return TensorOp(kind: name, attributes: attributes, operands: try node.operands([0], constantPrefix: "reduce"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        let axes = try op.ints("axes", default: [])
        return ONNXNodeForm(
            opType: name, attributes: op.attributes.filter { $0.key == "keepdims" || $0.key == "noop_with_empty_axes" },
            inputs: [.operand(0), axes.isEmpty ? .absent : .ints(axes)], minimumOpset: axesInputOpset)
    }
}
