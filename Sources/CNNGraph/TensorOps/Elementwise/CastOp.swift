// Cast between floating-point types (ONNX Cast with `to` FLOAT, DOUBLE, FLOAT16 or BFLOAT16):
// values stay in the graph's scalar; a cast to a narrower type rounds each value to the nearest
// value of that type (ties to even), as the cast there and back would.
import CNNKernels

struct CastOp: TensorOpDefinition {
    let name = "Cast"
    let summary =
        "y = x rounded to the float type `to` (ONNX FLOAT 1, DOUBLE 11: unchanged; FLOAT16 10, BFLOAT16 16: rounded)"

    /// ONNX TensorProto data types.
    static let float = 1, double = 11, float16 = 10, bfloat16 = 16
    static let typeNames = [
        1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
        9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
        15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
        20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0",
    ]

    /// The rounding the target type needs (nil: none).
    func rounding(_ op: TensorOp) throws(TensorOpError) -> UnaryFunction? {
        let to = try op.int("to")
        switch to {
        case Self.float, Self.double: return nil
        case Self.float16: return .roundToFloat16
        case Self.bfloat16: return .roundToBFloat16
        default:
            throw TensorOpError(
                "a cast to \(Self.typeNames[to] ?? "data type \(to)") is not supported; only FLOAT, DOUBLE, FLOAT16 and BFLOAT16 (cnnconv values are floating point)"
            )
        }
    }

    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]] {
        guard operands.count == 1 else { throw TensorOpError("takes 1 operand, has \(operands.count)") }
        try TensorShapes.checkRank(operands[0])
        _ = try rounding(op)
        return [operands[0]]
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let count = TensorShapes.count(outputs[0]) ?? 0
        guard let f = try rounding(op) else {
            return { operands, outputs in outputs[0].update(from: operands[0], count: count) }
        }
        return { operands, outputs in applyUnary(f, input: operands[0], output: outputs[0], count: count) }
    }

    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp {
        guard node.attributes["to"] != nil else { throw TensorOpError("attribute 'to' is required") }
        let op = TensorOp(
            kind: name, attributes: ["to": .int(try node.int("to", default: 0))],
            operands: try node.operands([0], constantPrefix: "cast"))
        _ = try rounding(op)
        return op
    }

    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm {
        // Without rounding the value stays a float value of the exported (float) graph: a cast to
        // DOUBLE is written as one to FLOAT so that the nodes reading it still type-check. A
        // rounding cast keeps its narrow type (the model's own cast back to FLOAT follows it).
        let to = try rounding(op) == nil ? Self.float : try op.int("to")
        return .operands("Cast", op, attributes: ["to": .int(to)])
    }

    func describe(_ op: TensorOp) -> String {
        let to = (try? op.int("to")) ?? 0
        return "to \(Self.typeNames[to] ?? String(to))"
    }
}
