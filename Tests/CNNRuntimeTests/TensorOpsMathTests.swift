// The math tensor ops' refusals (shapes and attributes a file can hold that the ops do not
// define) and the behaviours onnxruntime cannot be the oracle for: ReduceSum's
// noop_with_empty_axes identity (onnxruntime 1.23 refuses it) and a Float32 mean over 10^5
// values (the reference is the exact mean of the stored floats).
import CNNGraph
import CNNKernels
import Testing

@Suite("Math tensor ops: refusals and precision")
struct TensorOpsMathTests {
    func definition(_ kind: String) throws -> any TensorOpDefinition {
        try #require(TensorOps.definition(named: kind), "kind \(kind) is not registered")
    }

    /// The refusal message for these operand shapes, nil when accepted.
    func refusal(_ kind: String, _ shapes: [[Int]]) throws -> String? { try refusal(kind, [:], shapes) }

    func refusal(_ kind: String, _ attributes: [String: AttributeValue], _ shapes: [[Int]]) throws -> String? {
        let op = TensorOp(kind: kind, attributes: attributes, inputs: shapes.count)
        do { _ = try definition(kind).outputShapes(op, operands: shapes); return nil } catch let e as TensorOpError {
            return e.message
        }
    }

    func shapes(_ kind: String, _ shapes: [[Int]]) throws -> [[Int]] { try self.shapes(kind, [:], shapes) }

    func shapes(_ kind: String, _ attributes: [String: AttributeValue], _ shapes: [[Int]]) throws -> [[Int]] {
        try definition(kind).outputShapes(
            TensorOp(kind: kind, attributes: attributes, inputs: shapes.count), operands: shapes)
    }

    @Test func matmulShapes() throws {
        #expect(try shapes("MatMul", [[2, 1, 3, 4], [5, 4, 6]]) == [[2, 5, 3, 6]])
        #expect(try shapes("MatMul", [[4], [2, 4, 5]]) == [[2, 5]])
        #expect(try shapes("MatMul", [[2, 3, 4], [4]]) == [[2, 3]])
        #expect(try shapes("MatMul", [[4], [4]]) == [[]])
    }

    @Test func matmulRefusals() throws {
        #expect(try refusal("MatMul", [[2, 3], [4, 5]])?.contains("3 columns against 4 rows") == true)
        #expect(try refusal("MatMul", [[], [4, 5]])?.contains("scalar") == true)
        #expect(try refusal("MatMul", [[2, 3, 4], [3, 4, 5]])?.contains("do not broadcast") == true)
        #expect(try refusal("MatMul", [[1, 1, 1, 1, 1, 1, 2, 3], [3, 2]])?.contains("rank 8") == true)
        #expect(try refusal("MatMul", [[2, 3]]) != nil)
    }

    @Test func gemmRefusals() throws {
        #expect(try shapes("Gemm", ["transA": .int(1), "transB": .int(1)], [[4, 3], [5, 4], [1, 5]]) == [[3, 5]])
        #expect(try refusal("Gemm", [[2, 3, 4], [4, 5]])?.contains("2-D") == true)
        #expect(try refusal("Gemm", [[3, 4], [4, 5], [2, 5]])?.contains("does not broadcast") == true)
        #expect(try refusal("Gemm", ["transA": .int(2)], [[3, 4], [4, 5]])?.contains("must be 0 or 1") == true)
        #expect(try refusal("Gemm", ["transB": .int(1)], [[3, 4], [4, 5]])?.contains("op(B)") == true)
    }

    @Test func reduceShapesAndRefusals() throws {
        #expect(try shapes("ReduceMean", ["axes": .ints([1, -1]), "keepdims": .int(1)], [[2, 3, 4]]) == [[2, 1, 1]])
        #expect(try shapes("ReduceMax", ["keepdims": .int(0)], [[2, 3, 4]]) == [[]])
        #expect(try shapes("ReduceSum", ["noop_with_empty_axes": .int(1)], [[2, 3]]) == [[2, 3]])
        #expect(try refusal("ReduceL2", ["axes": .ints([3])], [[2, 3, 4]])?.contains("out of range") == true)
        #expect(try refusal("ReduceMin", ["axes": .ints([1, -2])], [[2, 3, 4]])?.contains("repeat") == true)
        #expect(try refusal("ReduceSum", ["keepdims": .int(2)], [[2, 3]])?.contains("keepdims") == true)
        #expect(try refusal("ReduceSum", ["noop_with_empty_axes": .int(-1)], [[2, 3]]) != nil)
    }

    @Test func softmaxAndLayerNormRefusals() throws {
        #expect(try refusal("LogSoftmax", ["axis": .int(3)], [[2, 3, 4]])?.contains("out of range") == true)
        #expect(try refusal("Softmax", ["coerced": .int(2)], [[2, 3]]) != nil)
        #expect(try refusal("Softmax", [:], [[]])?.contains("scalar") == true)
        #expect(
            try shapes("LayerNormalization", ["axis": .int(1), "outputs": .int(3)], [[2, 3, 4], [3, 4]]) == [
                [2, 3, 4], [2, 1, 1], [2, 1, 1],
            ])
        #expect(try refusal("LayerNormalization", [:], [[2, 3, 4], [5]])?.contains("does not broadcast") == true)
        #expect(try refusal("LayerNormalization", ["outputs": .int(4)], [[2, 3, 4], [4]]) != nil)
        #expect(try refusal("LayerNormalization", ["epsilon": .float(-1)], [[2, 3, 4], [4]]) != nil)
    }

    @Test func coercedSoftmaxHasNoONNXExport() throws {
        let op = TensorOp(kind: "Softmax", attributes: ["axis": .int(1), "coerced": .int(1)], inputs: 1)
        #expect(throws: TensorOpError.self) { try definition("Softmax").exportONNX(op) }
    }

    @Test func importRefusesAllConstantOperands() throws {
        let c = ONNXInput.constant(ONNXConstant(shape: [2, 2], values: [1, 2, 3, 4], isInteger: false))
        let node = ONNXNodeView(opType: "MatMul", opset: 13, attributes: [:], inputs: [c, c], outputCount: 1)
        #expect(throws: TensorOpError.self) { try definition("MatMul").importONNX(node) }
        let gemm = ONNXNodeView(opType: "Gemm", opset: 13, attributes: [:], inputs: [c, c], outputCount: 1)
        #expect(throws: TensorOpError.self) { try definition("Gemm").importONNX(gemm) }
    }

    /// Runs one tensor op on Float32 operands.
    func run(_ op: TensorOp, _ operands: [([Int], [Float])]) throws -> [[Float]] {
        let d = try definition(op.kind)
        let shapes = operands.map(\.0)
        let outs = try d.outputShapes(op, operands: shapes)
        let kernel = try d.prepare(op, operands: shapes, outputs: outs, as: Float.self)
        var results = outs.map { [Float](repeating: .nan, count: $0.reduce(1, *)) }
        let inputs = operands.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.1.count) }
        let outputs = results.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.count) }
        defer { for p in inputs { p.deallocate() }; for p in outputs { p.deallocate() } }
        for (p, o) in zip(inputs, operands) { p.update(from: o.1, count: o.1.count) }
        kernel(inputs.map { UnsafePointer($0) }, outputs)
        for i in results.indices { results[i] = Array(UnsafeBufferPointer(start: outputs[i], count: results[i].count)) }
        return results
    }

    @Test func reduceSumNoopWithEmptyAxesIsTheIdentity() throws {
        // ONNX ReduceSum-13: empty axes with noop_with_empty_axes = 1 returns the input.
        let x: [Float] = [1, -2, 3.5, 4, 0.25, -6]
        let y = try run(
            TensorOp(kind: "ReduceSum", attributes: ["noop_with_empty_axes": .int(1)], inputs: 1), [([2, 3], x)])
        #expect(y == [x])
    }

    @Test func float32MeanOver100kValuesKeepsItsDigits() throws {
        // Every value is Float(0.1); the exact mean is that float itself. A Float32 running sum
        // drifts by ~1e-3 relative over 10^5 terms.
        let n = 100_000
        let y = try run(
            TensorOp(kind: "ReduceMean", attributes: ["keepdims": .int(0)], inputs: 1),
            [([n], [Float](repeating: 0.1, count: n))])
        #expect(y == [[Float(0.1)]])
    }

    @Test func batchedMatmulMatchesTheDefinition() throws {
        // [3, 2, 4] · [1, 4, 5] (B broadcast over the batch) against the sum of products.
        let a = (0..<24).map { Float($0 % 7) - 3 }, b = (0..<20).map { Float($0 % 5) * 0.5 - 1 }
        let y = try run(TensorOp(kind: "MatMul", inputs: 2), [([3, 2, 4], a), ([1, 4, 5], b)])[0]
        var expected: [Float] = []
        for batch in 0..<3 {
            for i in 0..<2 {
                for j in 0..<5 {
                    expected.append((0..<4).reduce(Float(0)) { $0 + a[batch * 8 + i * 4 + $1] * b[$1 * 5 + j] })
                }
            }
        }
        #expect(y == expected)
    }
}
