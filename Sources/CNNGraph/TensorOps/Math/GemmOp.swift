// Gemm: y = alpha·op(A)·op(B) + beta·C (ONNX Gemm) with op = transpose when transA/transB is 1
// and C broadcast to the M×N result. The importer keeps the Linear-shaped Gemm (run-time A,
// constant B, per-feature C) as a `Linear` node that folds BatchNorm; this kind takes the rest:
// transA, a run-time B, a matrix C.
import CNNKernels

struct GemmOp: TensorOpDefinition {
    let name = "Gemm"
    let summary =
        "y = alpha·op(a)·op(b) + beta·c on 2-D operands, op transposing when transA/transB is 1, c broadcast to the result"

    struct Geometry { var m: Int, n: Int, k: Int, transA: Bool, transB: Bool }

    static func geometry(_ op: TensorOp, _ operands: [[Int]]) throws(TensorOpError) -> Geometry {
        guard operands.count == 2 || operands.count == 3 else {
            throw TensorOpError("takes 2 or 3 operands, has \(operands.count)")
        }
        let a = operands[0], b = operands[1]
        guard a.count == 2, b.count == 2 else {
            throw TensorOpError("A \(formatShape(a)) and B \(formatShape(b)) must both be 2-D")
        }
        let transA = try flag(op, "transA"), transB = try flag(op, "transB")
        let (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
        let (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1])
        guard k == kb else {
            throw TensorOpError(
                "op(A) is \(m)×\(k) but op(B) is \(kb)×\(n) (transA \(transA ? 1 : 0), transB \(transB ? 1 : 0))")
        }
        guard TensorShapes.count([m, n]) != nil else { throw TensorOpError("the \(m)×\(n) result is too large") }
        if operands.count == 3 {
            let c = operands[2]
            guard c.count <= 2, (try? TensorShapes.broadcast([c, [m, n]])) == [m, n] else {
                throw TensorOpError("C \(formatShape(c)) does not broadcast to the \(m)×\(n) result")
            }
        }
        _ = try op.float("alpha", default: 1); _ = try op.float("beta", default: 1)
        return Geometry(m: m, n: n, k: k, transA: transA, transB: transB)
    }

    static func flag(_ op: TensorOp, _ key: String) throws(TensorOpError) -> Bool {
        let v = try op.int(key, default: 0)
        guard v == 0 || v == 1 else { throw TensorOpError("attribute '\(key)' is \(v), must be 0 or 1") }
        return v == 1
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        let g = try Self.geometry(op, operands)
        return [[g.m, g.n]]
    }

    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int {
        guard let g = try? Self.geometry(op, operands) else { return 0 }
        return [g.m, g.n, g.k].reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let g = try Self.geometry(op, operands)
        let alpha = T(try op.float("alpha", default: 1)), beta = T(try op.float("beta", default: 1))
        let lda = operands[0][1], ldb = operands[1][1]
        var cOffsets: [Int] = []
        let hasC = operands.count == 3
        if hasC {
            cOffsets.reserveCapacity(g.m * g.n)
            TensorShapes.forEachOffset([g.m, g.n], TensorShapes.broadcastStrides(operands[2], to: [g.m, g.n])) { _, o in
                cOffsets.append(o)
            }
        }
        return { operands, outputs in
            gemm(
                transposeA: g.transA, transposeB: g.transB, m: g.m, n: g.n, k: g.k, alpha: alpha,
                a: operands[0], lda: lda, b: operands[1], ldb: ldb,
                beta: beta, c: hasC ? operands[2] : nil, cOffsets: cOffsets, into: outputs[0])
        }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        var positions = [0, 1]
        if node.input(2) != .absent { positions.append(2) }
        let operands = try node.operands(positions, constantPrefix: "gemm")
        guard operands.contains(.input) else {
            throw TensorOpError("every operand is constant; nothing to compute at run time")
        }
        var attributes: [String: AttributeValue] = [:]
        for key in ["transA", "transB"] {
            let v = try node.int(key, default: 0); if v != 0 { attributes[key] = .int(v) }
        }
        for key in ["alpha", "beta"] {
            let v = try node.float(key, default: 1); if v != 1 { attributes[key] = .float(v) }
        }
        return TensorOp(kind: name, attributes: attributes, operands: operands)
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        .operands(
            "Gemm", op, attributes: op.attributes.filter { ["transA", "transB", "alpha", "beta"].contains($0.key) },
            minimumOpset: 13)
    }
}
