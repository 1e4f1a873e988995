// A tensor op as one of the graph's ops: it forwards to its kind's `TensorOpDefinition`
// (TensorOps/), so that the callers of `Op.definition` treat every op alike. The kinds
// themselves are added in TensorOps/, never here.
import CNNFormat

extension TensorOp: OpDefinition {
    package var op: Op { .tensor(self) }
    package var kindName: String { kind }
    package static var kindNames: [String] { TensorOps.all.map(\.name) }
    package static var formatFields: [String] { ["tensor_op"] }
    package static var summary: String { "a general tensor op; its kind is listed in tensor-op-kinds.md" }
    package static var onnxImportTypes: [String] { TensorOps.all.flatMap(\.onnxTypes) }
    /// Whatever each kind's `exportONNX` says; not listed statically.
    package static var onnxExportTypes: [String] { [] }

    package var parameters: [(role: String, tensor: Tensor)] {
        constants.map { (role: "operand\($0.position)", tensor: $0.tensor) }
    }

    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        for i in operands.indices {
            if case .constant(let c) = operands[i] { operands[i] = .constant(try transform(c)) }
        }
    }

    /// The first output's shape; `Node.inferOutputShapes` gives every output's.
    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.inferOutputShapes(ins).first ?? []
    }

    package func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int {
        guard let d = definition else { return 0 }
        let operands = operandShapes(inputShapes)
        return d.macs(
            self, operands: operands, outputs: (try? d.outputShapes(self, operands: operands)) ?? [outputShape])
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { definition?.describe(self) ?? "" }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        n.tensorOp = try e.encode(self)
    }

    /// The opset the kind's export needs (0 when it cannot export; the export then says why).
    package var onnxMinimumOpset: Int { (try? definition?.exportONNX(self))?.minimumOpset ?? 0 }

    /// The kind's `ONNXNodeForm`, written as one node: operands by name (constants as
    /// initializers keeping their tensor names), integer and float inputs as fresh initializers.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        guard let definition else { throw OpExportError("op kind '\(kind)' is not one this build knows") }
        let form: ONNXNodeForm
        do { form = try definition.exportONNX(self) } catch { throw OpExportError("\(kind): \(error.message)") }
        var next = n.inputs.makeIterator()
        var operandNames: [String] = []
        for o in operands {
            switch o {
            case .input: operandNames.append(next.next() ?? "")
            case .constant(let c): operandNames.append(b.param(c))
            }
        }
        var inputs: [String] = []
        for input in form.inputs {
            switch input {
            case .operand(let i):
                guard operandNames.indices.contains(i) else {
                    throw OpExportError("\(kind) exports operand \(i) of \(operandNames.count)")
                }
                inputs.append(operandNames[i])
            case .ints(let values): inputs.append(b.ints("\(n.name)_const", values))
            case .intTensor(let shape, let values): inputs.append(b.ints("\(n.name)_const", values, shape: shape))
            case .int32s(let values): inputs.append(b.int32s("\(n.name)_const", values))
            case .floatTensor(let shape, let values):
                inputs.append(b.initializer("\(n.name)_const", shape: shape, floats: values.map { Float($0) }))
            case .absent: inputs.append("")
            }
        }
        while inputs.last == "" { inputs.removeLast() }
        b.node(
            form.opType, n.name, inputs, n.outputs,
            attributes: form.attributes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
