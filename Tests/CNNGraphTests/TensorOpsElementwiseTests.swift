// Refusals of the Elementwise and Activations tensor-op definitions: every attribute or shape a
// file or an ONNX node can hold that the kind cannot compute is a TensorOpError naming it.

import CNNGraph
import Testing

@Suite("Elementwise and activation tensor ops refuse what they cannot compute")
struct TensorOpsElementwiseTests {
    func definition(_ kind: String) throws -> any TensorOpDefinition {
        try #require(TensorOps.definition(named: kind), "\(kind) is not registered")
    }

    /// The message of the TensorOpError `body` throws (nil when it does not throw).
    func refusal(_ body: () throws(TensorOpError) -> Void) -> String? {
        do { try body(); return nil } catch { return error.message }
    }

    func shapes(_ kind: String, _ op: TensorOp, _ operands: [[Int]]) throws -> String? {
        let d = try definition(kind)
        return refusal { () throws(TensorOpError) in _ = try d.outputShapes(op, operands: operands) }
    }

    @Test func broadcastingShapes() throws {
        let add = TensorOp(kind: "Add", inputs: 2)
        #expect(try shapes("Add", add, [[2, 3, 4], [4]]) == nil)
        #expect(try shapes("Add", add, [[2, 3, 4], [3]])?.contains("do not broadcast") == true)
        #expect(
            try shapes("Add", TensorOp(kind: "Add", inputs: 3), [[2], [2], [2]])?.contains("takes 2 operands") == true)
        #expect(
            try shapes("Sub", TensorOp(kind: "Sub", inputs: 2), [[1, 1, 1, 1, 1, 1, 1], [1]])?.contains("rank 7")
                == true)
        #expect(try shapes("Max", TensorOp(kind: "Max", inputs: 0), [])?.contains("1 to 1024 operands") == true)
        #expect(try shapes("Mean", TensorOp(kind: "Mean", inputs: 3), [[2, 1], [1, 3], [3]]) == nil)
        let huge = 1 << 40
        #expect(
            try shapes("Mul", TensorOp(kind: "Mul", inputs: 2), [[huge, 1], [1, huge]])?.contains("overflows") == true)
    }

    @Test func legacyBroadcastAxisIsRefused() throws {
        let view = ONNXNodeView(
            opType: "Add", opset: 6, attributes: ["broadcast": .int(1), "axis": .int(1)],
            inputs: [.value(shape: [2, 3, 4]), .value(shape: [3])], outputCount: 1)
        let d = try definition("Add")
        let message = refusal { () throws(TensorOpError) in _ = try d.importONNX(view) }
        #expect(message?.contains("legacy broadcasting along 'axis'") == true)
    }

    @Test func castToAnIntegerTypeIsRefused() throws {
        let cast = TensorOp(kind: "Cast", attributes: ["to": .int(7)], inputs: 1)
        #expect(try shapes("Cast", cast, [[2]])?.contains("INT64") == true)
        #expect(try shapes("Cast", TensorOp(kind: "Cast", inputs: 1), [[2]])?.contains("'to' is required") == true)
        #expect(try shapes("Cast", TensorOp(kind: "Cast", attributes: ["to": .int(10)], inputs: 1), [[2]]) == nil)
        let view = ONNXNodeView(
            opType: "Cast", opset: 13, attributes: ["to": .int(9)], inputs: [.value(shape: [2])], outputCount: 1)
        let d = try definition("Cast")
        #expect(refusal { () throws(TensorOpError) in _ = try d.importONNX(view) }?.contains("BOOL") == true)
    }

    @Test func unaryAttributes() throws {
        #expect(
            try shapes("Gelu", TensorOp(kind: "Gelu", attributes: ["approximate": .string("fast")], inputs: 1), [[2]])?
                .contains("\"none\" or \"tanh\"") == true)
        #expect(
            try shapes("Celu", TensorOp(kind: "Celu", attributes: ["alpha": .float(0)], inputs: 1), [[2]])?.contains(
                "positive") == true)
        #expect(
            try shapes("Elu", TensorOp(kind: "Elu", attributes: ["alpha": .float(.nan)], inputs: 1), [[2]])?.contains(
                "finite") == true)
        #expect(
            try shapes("Elu", TensorOp(kind: "Elu", attributes: ["alpha": .string("x")], inputs: 1), [[2]])?.contains(
                "expected a number") == true)
        #expect(
            try shapes("Sqrt", TensorOp(kind: "Sqrt", attributes: ["alpha": .float(1)], inputs: 1), [[2]])?.contains(
                "no attribute 'alpha'") == true)
        #expect(try shapes("Exp", TensorOp(kind: "Exp", inputs: 2), [[2], [2]])?.contains("takes 1 operand") == true)
    }

    @Test func preluSlopeMustBroadcastToTheInput() throws {
        let prelu = TensorOp(kind: "PRelu", inputs: 2)
        #expect(try shapes("PRelu", prelu, [[2, 3, 4, 4], [3, 1, 1]]) == nil)
        #expect(try shapes("PRelu", prelu, [[2, 3], [4, 2, 3]])?.contains("does not broadcast to the input") == true)
        #expect(try shapes("PRelu", prelu, [[2, 1], [2, 3]])?.contains("does not broadcast to the input") == true)
    }

    @Test func clipBounds() throws {
        let both = TensorOp(kind: "Clip", attributes: ["bounds": .ints([1, 1])], inputs: 3)
        #expect(try shapes("Clip", both, [[2, 3], [1], []]) == nil)
        #expect(try shapes("Clip", both, [[2, 3], [2], []])?.contains("must be scalars") == true)
        #expect(
            try shapes(
                "Clip", TensorOp(kind: "Clip", attributes: ["bounds": .ints([1, 2])], inputs: 3), [[2], [], []])?
                .contains("each 0 or 1") == true)
        #expect(
            try shapes(
                "Clip", TensorOp(kind: "Clip", attributes: ["bounds": .ints([0, 1])], inputs: 3), [[2], [], []])?
                .contains("takes 2 operands") == true)
    }
}
