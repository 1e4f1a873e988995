// Typed access to an ONNX node's attributes: a wrong type or missing required value is an error
// naming the node, op and attribute.
import CNNGraph
import Foundation

struct NodeAttributes {
    let nodeName: String
    let opType: String
    private var byName: [String: Onnx_AttributeProto] = [:]

    init(_ node: Onnx_NodeProto, name: String) {
        nodeName = name
        opType = node.opType
        for a in node.attribute { byName[a.name] = a }
    }

    func has(_ key: String) -> Bool { byName[key] != nil }
    var names: [String] { byName.keys.sorted() }

    func fail(_ key: String, _ message: String) -> ONNXError {
        .badAttribute(node: nodeName, opType: opType, attribute: key, message: message)
    }

    /// The attribute's type, from `type` or (old writers omit it) from which field is set.
    private func kind(_ a: Onnx_AttributeProto) -> Onnx_AttributeProto.AttributeType {
        if a.hasType, a.type != .undefined { return a.type }
        if a.hasI { return .int }
        if a.hasF { return .float }
        if a.hasS { return .string }
        if a.hasT { return .tensor }
        if !a.ints.isEmpty { return .ints }
        if !a.floats.isEmpty { return .floats }
        if !a.strings.isEmpty { return .strings }
        return .undefined
    }

    /// The int, float, string and list attributes as tensor-op attributes (tensor and graph
    /// attributes are left out; lists are bounded by `TensorOps.maxAttributeValues`).
    func neutral() throws(ONNXError) -> [String: AttributeValue] {
        var out: [String: AttributeValue] = [:]
        for (key, a) in byName {
            switch kind(a) {
            case .int: out[key] = .int(try int(key) ?? 0)
            case .ints:
                guard a.ints.count <= TensorOps.maxAttributeValues else {
                    throw fail(key, "has \(a.ints.count) values")
                }
                out[key] = .ints(try ints(key) ?? [])
            case .float: out[key] = .float(Double(a.f))
            case .floats:
                guard a.floats.count <= TensorOps.maxAttributeValues else {
                    throw fail(key, "has \(a.floats.count) values")
                }
                out[key] = .floats(a.floats.map(Double.init))
            case .string: out[key] = .string(String(decoding: a.s, as: UTF8.self))
            case .strings:
                // No string-list attribute value: the items joined by commas (ONNXNodeView says so).
                guard a.strings.count <= TensorOps.maxAttributeValues else {
                    throw fail(key, "has \(a.strings.count) values")
                }
                out[key] = .string(a.strings.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ","))
            default: break
            }
        }
        return out
    }

    func int(_ key: String) throws(ONNXError) -> Int? {
        guard let a = byName[key] else { return nil }
        guard kind(a) == .int else { throw fail(key, "must be an int") }
        guard let v = Int(exactly: a.i) else { throw fail(key, "is out of range") }
        return v
    }
    func int(_ key: String, default d: Int) throws(ONNXError) -> Int { try int(key) ?? d }

    func ints(_ key: String) throws(ONNXError) -> [Int]? {
        guard let a = byName[key] else { return nil }
        let k = kind(a)
        // An empty list written without a type reads as undefined.
        guard k == .ints || (k == .undefined && a.ints.isEmpty) else { throw fail(key, "must be a list of ints") }
        var values: [Int] = []
        values.reserveCapacity(a.ints.count)
        for v in a.ints {
            guard let i = Int(exactly: v) else { throw fail(key, "value \(v) is out of range") }
            values.append(i)
        }
        return values
    }

    func float(_ key: String) throws(ONNXError) -> Float? {
        guard let a = byName[key] else { return nil }
        switch kind(a) {
        case .float: return a.f
        case .int: return Float(a.i)  // some writers store integral floats as ints
        default: throw fail(key, "must be a float")
        }
    }
    func float(_ key: String, default d: Float) throws(ONNXError) -> Float { try float(key) ?? d }

    func floats(_ key: String) throws(ONNXError) -> [Float]? {
        guard let a = byName[key] else { return nil }
        let k = kind(a)
        guard k == .floats || (k == .undefined && a.floats.isEmpty) else { throw fail(key, "must be a list of floats") }
        return a.floats
    }

    func string(_ key: String) throws(ONNXError) -> String? {
        guard let a = byName[key] else { return nil }
        guard kind(a) == .string else { throw fail(key, "must be a string") }
        return String(decoding: a.s, as: UTF8.self)
    }
    func string(_ key: String, default d: String) throws(ONNXError) -> String { try string(key) ?? d }

    func tensor(_ key: String) throws(ONNXError) -> Onnx_TensorProto? {
        guard let a = byName[key] else { return nil }
        guard kind(a) == .tensor else { throw fail(key, "must be a tensor") }
        return a.t
    }

    func raw(_ key: String) -> Onnx_AttributeProto? { byName[key] }
}
