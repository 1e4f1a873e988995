// Tile: repeats the input along every axis (ONNX Tile with constant repeats).
import CNNKernels

struct TileOp: TensorOpDefinition {
    let name = "Tile"
    let summary = "y = x repeated `repeats[a]` times along each axis a"

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        try Movement.expect(operands, 1)
        let x = operands[0], repeats = try op.ints("repeats")
        try TensorShapes.checkRank(x)
        guard repeats.count == x.count, repeats.allSatisfy({ $0 >= 1 }) else {
            throw TensorOpError("repeats \(repeats) must hold one count ≥ 1 per axis of \(formatShape(x))")
        }
        var out: [Int] = []
        for (d, r) in zip(x, repeats) {
            out.append(try Movement.product(d, r, "tiling \(formatShape(x)) by \(repeats)"))
        }
        return [out]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let x = operands[0], repeats = try op.ints("repeats")
        return { operands, outputs in tile(operands[0], outputs[0], shape: x, repeats: repeats) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard let repeats = try node.constantInts(1, "repeats") else {
            throw TensorOpError("the repeats input is required")
        }
        return TensorOp(
            kind: name, attributes: ["repeats": .ints(repeats)],
            operands: try node.operands([0], constantPrefix: "tile"))
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        ONNXNodeForm(opType: "Tile", inputs: [.operand(0), .ints(try op.ints("repeats"))])
    }
}
