// A TensorOp in the file: kind, attributes sorted by name, operands (constants by tensor name).
import CNNFormat

extension GraphEncoder {
    mutating func encode(_ t: TensorOp) throws(GraphError) -> Cnnconv_V1_TensorOp {
        var m = Cnnconv_V1_TensorOp()
        m.kind = t.kind
        m.attributes = t.attributes.sorted { $0.key < $1.key }.map { key, value in
            var a = Cnnconv_V1_TensorOpAttribute()
            a.name = key
            switch value {
            case .int(let v): a.int = Int64(v)
            case .ints(let v): var l = Cnnconv_V1_Ints(); l.values = v.map(Int64.init); a.ints = l
            case .float(let v): a.float = v
            case .floats(let v): var l = Cnnconv_V1_Doubles(); l.values = v; a.floats = l
            case .string(let v): a.string = v
            }
            return a
        }
        for o in t.operands {
            var operand = Cnnconv_V1_TensorOpOperand()
            if case .constant(let c) = o { operand.constant = try ref(c) }
            m.operands.append(operand)
        }
        return m
    }
}

extension GraphDecoder {
    /// Refuses unknown kinds, repeated or unset attributes, integers past `Int`, and lists longer
    /// than `TensorOps.maxAttributeValues`; the definition checks the values when shapes are
    /// inferred.
    mutating func decode(_ m: Cnnconv_V1_TensorOp, node: String) throws -> TensorOp {
        guard TensorOps.definition(named: m.kind) != nil else {
            throw GraphError.unsupportedInFormat(
                "node '\(node)' has op kind '\(m.kind)', which this reader does not know — the file needs a newer cnnconv"
            )
        }
        var attributes: [String: AttributeValue] = [:]
        func fail(_ a: String, _ message: String) -> GraphError {
            .invalidAttribute(node: node, message: "\(m.kind) attribute '\(a)' \(message)")
        }
        func int(_ v: Int64, _ a: String) throws -> Int {
            guard let i = Int(exactly: v) else { throw fail(a, "holds \(v), past what this machine counts") }
            return i
        }
        for a in m.attributes {
            guard attributes[a.name] == nil else { throw fail(a.name, "appears twice") }
            switch a.value {
            case .int(let v)?: attributes[a.name] = .int(try int(v, a.name))
            case .ints(let l)?:
                guard l.values.count <= TensorOps.maxAttributeValues else {
                    throw fail(a.name, "has \(l.values.count) values")
                }
                attributes[a.name] = .ints(try l.values.map { v in try int(v, a.name) })
            case .float(let v)?: attributes[a.name] = .float(v)
            case .floats(let l)?:
                guard l.values.count <= TensorOps.maxAttributeValues else {
                    throw fail(a.name, "has \(l.values.count) values")
                }
                attributes[a.name] = .floats(l.values)
            case .string(let v)?: attributes[a.name] = .string(v)
            case nil: throw fail(a.name, "has no value")
            }
        }
        var operands: [Operand] = []
        for (i, o) in m.operands.enumerated() {
            operands.append(
                o.constant.isEmpty ? .input : .constant(try tensor(o.constant, node: node, role: "operand \(i)")))
        }
        return TensorOp(kind: m.kind, attributes: attributes, operands: operands)
    }
}
