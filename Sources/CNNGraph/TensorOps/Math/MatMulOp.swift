// MatMul: numpy-style matrix product (ONNX MatMul) — batched over the leading axes with
// broadcasting, a 1-D operand read as a row (A) or a column (B) whose axis the result then drops.
// The importer keeps MatMul by a constant 2-D B as a `Linear` node (it folds BatchNorm); this
// kind takes the rest: two run-time operands, a constant A, a constant B of rank ≠ 2.
import CNNKernels

struct MatMulOp: TensorOpDefinition {
    let name = "MatMul"
    let summary =
        "y = a·b over the last two axes, batched with numpy broadcasting over the others (1-D operands as in numpy.matmul)"

    /// The product's geometry: batch shape, matrix sizes, and where each batch matrix starts.
    struct Geometry {
        var output: [Int]
        var batch: [Int]
        var m: Int, n: Int, k: Int
        /// Per-batch-axis element strides of A and B (0 along broadcast axes).
        var aStrides: [Int], bStrides: [Int]
        var batchCount: Int
    }

    static func geometry(_ operands: [[Int]]) throws(TensorOpError) -> Geometry {
        guard operands.count == 2 else { throw TensorOpError("takes 2 operands, has \(operands.count)") }
        let a = operands[0], b = operands[1]
        try TensorShapes.checkRank(a, "first operand"); try TensorShapes.checkRank(b, "second operand")
        guard !a.isEmpty, !b.isEmpty else {
            throw TensorOpError("operands \(formatShape(a)) and \(formatShape(b)): a scalar has no matrix product")
        }
        let a2 = a.count == 1 ? [1, a[0]] : a, b2 = b.count == 1 ? [b[0], 1] : b
        let m = a2[a2.count - 2], k = a2[a2.count - 1], kb = b2[b2.count - 2], n = b2[b2.count - 1]
        guard k == kb else {
            throw TensorOpError(
                "cannot multiply \(formatShape(a)) by \(formatShape(b)): \(k) columns against \(kb) rows")
        }
        let batchA = Array(a2.dropLast(2)), batchB = Array(b2.dropLast(2))
        let batch = try TensorShapes.broadcast([batchA, batchB])
        let output = batch + (a.count == 1 ? [] : [m]) + (b.count == 1 ? [] : [n])
        try TensorShapes.checkRank(output, "result")
        guard let batchCount = TensorShapes.count(batch), TensorShapes.count(output) != nil,
            TensorShapes.count(a) != nil, TensorShapes.count(b) != nil
        else {
            throw TensorOpError("the product of \(formatShape(a)) and \(formatShape(b)) is too large")
        }
        let aStrides = TensorShapes.broadcastStrides(batchA, to: batch).map { $0 &* m &* k }
        let bStrides = TensorShapes.broadcastStrides(batchB, to: batch).map { $0 &* k &* n }
        return Geometry(
            output: output, batch: batch, m: m, n: n, k: k, aStrides: aStrides, bStrides: bStrides,
            batchCount: batchCount)
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        [try Self.geometry(operands).output]
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        guard let g = try? Self.geometry(operands) else { return 0 }
        return [g.batchCount, g.m, g.n, g.k].reduce(1) {
            $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1
        }
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let g = try Self.geometry(operands)
        var aOffsets: [Int] = [], bOffsets: [Int] = []
        aOffsets.reserveCapacity(g.batchCount); bOffsets.reserveCapacity(g.batchCount)
        TensorShapes.forEachOffset(g.batch, g.aStrides) { _, o in aOffsets.append(o) }
        TensorShapes.forEachOffset(g.batch, g.bStrides) { _, o in bOffsets.append(o) }
        return { operands, outputs in
            batchedMatmul(
                operands[0], aOffsets: aOffsets, operands[1], bOffsets: bOffsets, ldb: g.n,
                into: outputs[0], m: g.m, n: g.n, k: g.k)
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        let operands = try node.operands([0, 1], constantPrefix: "matmul")
        guard operands.contains(.input) else {
            throw TensorOpError("both operands are constant; nothing to compute at run time")
        }
        return TensorOp(kind: name, operands: operands)
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands("MatMul", op, minimumOpset: 13)
    }

    func describe(_ op: TensorOp) -> String { "" }
}
