// Tensor ops → ONNX: the definition's `ONNXNodeForm`, written as one node.
import CNNGraph
import Foundation

extension ExportWriter {
    mutating func addTensorOp(_ n: Node, _ t: TensorOp) throws(ONNXError) {
        guard let definition = t.definition else {
            throw .exportUnsupported(node: n.name, message: "op kind '\(t.kind)' is not one this build knows")
        }
        let form: ONNXNodeForm
        do { form = try definition.exportONNX(t) } catch { throw .exportUnsupported(node: n.name, message: "\(t.kind): \(error.message)") }
        var next = n.inputs.makeIterator()
        var operandNames: [String] = []
        for o in t.operands {
            switch o {
            case .input: operandNames.append(next.next() ?? "")
            case .constant(let c): operandNames.append(param(c))
            }
        }
        var inputs: [String] = []
        for input in form.inputs {
            switch input {
            case .operand(let i):
                guard operandNames.indices.contains(i) else {
                    throw .exportUnsupported(node: n.name, message: "\(t.kind) exports operand \(i) of \(operandNames.count)")
                }
                inputs.append(operandNames[i])
            case .ints(let values): inputs.append(ints("\(n.name)_const", values))
            case .intTensor(let shape, let values): inputs.append(ints("\(n.name)_const", values, shape: shape))
            case .floatTensor(let shape, let values):
                inputs.append(initializer("\(n.name)_const", shape: shape, floats: values.map { Float($0) }))
            case .absent: inputs.append("")
            }
        }
        while inputs.last == "" { inputs.removeLast() }
        let attrs = form.attributes.sorted { $0.key < $1.key }.map { key, value -> Onnx_AttributeProto in
            switch value {
            case .int(let v): return Self.attr(key, int: v)
            case .ints(let v): return Self.attr(key, ints: v)
            case .float(let v): return Self.attr(key, float: Float(v))
            case .floats(let v):
                var a = Onnx_AttributeProto(); a.name = key; a.type = .floats; a.floats = v.map { Float($0) }; return a
            case .string(let v): return Self.attr(key, string: v)
            }
        }
        node(form.opType, n.name, inputs, n.outputs, attrs)
    }

    /// The opset a tensor op's export needs (0 when it cannot export; `add` then says why).
    static func minimumOpset(_ t: TensorOp) -> Int {
        (try? t.definition?.exportONNX(t))?.minimumOpset ?? 0
    }
}
