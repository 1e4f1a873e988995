// Refusals of the LSTM and GRU tensor-op definitions: what ONNX allows but the kernels do not
// compute (other activations, input_forget) is refused by name on import, and every attribute or
// shape a file can hold that does not fit is a TensorOpError naming it. (Their numbers are checked
// against onnxruntime in fixtures/tensor-ops/recurrent and ONNX's node tests.)

import CNNGraph
import Testing

@Suite("LSTM and GRU tensor ops refuse what they cannot compute")
struct TensorOpsRecurrentTests {
    func definition(_ kind: String) throws -> any TensorOpDefinition {
        try #require(TensorOps.definition(named: kind), "\(kind) is not registered")
    }

    /// The message of the TensorOpError `body` throws (nil when it does not throw).
    func refusal(_ body: () throws(TensorOpError) -> Void) -> String? {
        do { try body(); return nil } catch { return error.message }
    }

    /// An LSTM/GRU node with run-time X [5, 2, 3] and W, R for hidden size 4.
    func view(_ kind: String, _ attributes: [String: AttributeValue]) -> ONNXNodeView {
        let g = kind == "LSTM" ? 16 : 12
        return ONNXNodeView(
            opType: kind, opset: 17, attributes: ["hidden_size": .int(4)].merging(attributes) { $1 },
            inputs: [.value(shape: [5, 2, 3]), .value(shape: [1, g, 3]), .value(shape: [1, g, 4])], outputCount: 1)
    }

    func importRefusal(_ kind: String, _ attributes: [String: AttributeValue]) throws -> String? {
        let d = try definition(kind)
        let v = view(kind, attributes)
        return refusal { () throws(TensorOpError) in _ = try d.importONNX(v) }
    }

    @Test func activationsOtherThanTheDefaultAreRefusedByName() throws {
        #expect(try importRefusal("LSTM", ["activations": .string("Sigmoid,Tanh,Tanh")]) == nil)
        #expect(try importRefusal("LSTM", ["activations": .string("Relu,Tanh,Tanh")])?.contains("Relu") == true)
        #expect(try importRefusal("GRU", ["activations": .string("Sigmoid,Tanh")]) == nil)
        #expect(
            try importRefusal("GRU", ["activations": .string("HardSigmoid,Tanh")])?.contains("HardSigmoid") == true)
        #expect(
            try importRefusal("LSTM", ["activation_alpha": .floats([0.5])])?.contains("activation_alpha") == true)
        // Bidirectional takes the list twice.
        #expect(
            try importRefusal(
                "LSTM", ["direction": .string("bidirectional"), "activations": .string("Sigmoid,Tanh,Tanh")])?
                .contains("activations") == true)
    }

    @Test func attributesAndShapesAreChecked() throws {
        let lstm = try definition("LSTM")
        func shapes(_ attributes: [String: AttributeValue], _ operands: [[Int]]) -> String? {
            let op = TensorOp(kind: "LSTM", attributes: attributes, inputs: operands.count)
            return refusal { () throws(TensorOpError) in _ = try lstm.outputShapes(op, operands: operands) }
        }
        let ok: [[Int]] = [[5, 2, 3], [1, 16, 3], [1, 16, 4]]
        #expect(shapes(["hidden_size": .int(4), "outputs": .int(3)], ok) == nil)
        #expect(shapes(["hidden_size": .int(4), "input_forget": .int(1)], ok)?.contains("input_forget") == true)
        #expect(shapes(["hidden_size": .int(4), "direction": .string("sideways")], ok)?.contains("sideways") == true)
        #expect(shapes(["hidden_size": .int(5)], ok)?.contains("W is 1×16×3, expected 1×20×3") == true)
        #expect(shapes(["hidden_size": .int(4), "layout": .int(2)], ok)?.contains("layout") == true)
        #expect(shapes(["hidden_size": .int(4), "clip": .float(-1)], ok)?.contains("clip") == true)
        #expect(shapes(["hidden_size": .int(4), "outputs": .int(4)], ok)?.contains("outputs") == true)
        #expect(
            shapes(["hidden_size": .int(4), "sequence_lens": .ints([5, 6])], ok)?.contains("sequence_lens") == true)
        #expect(shapes(["hidden_size": .int(4), "sequence_lens": .ints([5])], ok)?.contains("batch of 2") == true)
        #expect(shapes(["hidden_size": .int(4), "inputs": .ints([0, 1, 2, 4])], ok)?.contains("inputs") == true)
        #expect(
            shapes(["hidden_size": .int(4)], [[0, 2, 3], [1, 16, 3], [1, 16, 4]])?.contains("no time steps") == true)
        #expect(
            shapes(["hidden_size": .int(1 << 61)], [[5, 2, 3], [1, 16, 3], [1, 16, 4]])?.contains("too large") == true)
        let gru = try definition("GRU")
        let op = TensorOp(kind: "GRU", attributes: ["hidden_size": .int(4), "linear_before_reset": .int(2)], inputs: 3)
        #expect(
            refusal { () throws(TensorOpError) in
                _ = try gru.outputShapes(op, operands: [[5, 2, 3], [1, 12, 3], [1, 12, 4]])
            }?
            .contains("linear_before_reset") == true)
    }
}
