// Everything that can go wrong importing or exporting ONNX, naming the file, node, op or tensor.
import CNNGraph

/// One case per way an ONNX model (or a graph to export) can be refused. Every message names
/// what is at fault and, where there is one, what the user can do about it.
public enum ONNXError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read or written.
    case io(path: String, message: String)
    /// The bytes are not a protobuf `ModelProto`.
    case malformedProtobuf(path: String, message: String)
    /// A well-formed protobuf that is not a usable ONNX model (no graph, no opset, …).
    case invalidModel(path: String, message: String)
    /// The default-domain opset is older than the importer reads.
    case unsupportedOpset(domain: String, version: Int, minimum: Int)
    /// An op type the importer does not convert.
    case unsupportedOp(node: String, opType: String, domain: String, supported: [String])
    /// A known op used in a way the typed graph cannot carry (non-constant weight, broadcast …).
    case unsupportedUsage(node: String, opType: String, message: String)
    /// A node whose result, or an attribute, is beyond what the importer accepts (`ImportLimits`):
    /// a hostile or broken file asking for absurd sizes.
    case limitExceeded(node: String, opType: String, message: String)
    /// An attribute with a wrong type or a value outside what the op allows.
    case badAttribute(node: String, opType: String, attribute: String, message: String)
    /// A node that reads a value no input, initializer or earlier node defines.
    case missingValue(node: String, opType: String, value: String)
    /// An initializer or constant that cannot be decoded.
    case badTensor(tensor: String, message: String)
    /// A graph input whose shape is not fully known; `example` is a value `--input-shape` would
    /// take for it (its fixed dimensions kept; `name=…` when the model has several inputs).
    case unknownInputShape(input: String, declared: String, example: String)
    /// The user-given input shape contradicts the model.
    case inputShapeMismatch(input: String, given: [Int], message: String)
    /// The converted graph does not validate (a bug in the model or in the importer).
    case invalidGraph(GraphError)
    /// A graph the exporter cannot express in ONNX.
    case exportUnsupported(node: String, message: String)

    /// One line naming the file, node or tensor at fault, with the remedy where there is one
    /// (re-export at a newer opset, give `--input-shape`).
    public var description: String {
        switch self {
        case .io(let path, let message): return "\(path): \(message)"
        case .malformedProtobuf(let path, let message):
            return "\(path): not a valid ONNX protobuf (\(message))"
        case .invalidModel(let path, let message): return "\(path): not a usable ONNX model: \(message)"
        case .unsupportedOpset(let domain, let version, let minimum):
            return
                "the model imports opset \(version) of domain '\(domain.isEmpty ? "ai.onnx" : domain)'; cnnconv reads opset \(minimum) and newer (re-export it with a newer opset, e.g. onnx.version_converter)"
        case .unsupportedOp(let node, let opType, let domain, let supported):
            let qualified = domain.isEmpty || domain == "ai.onnx" ? opType : "\(domain).\(opType)"
            return "node '\(node)': op \(qualified) is not supported; supported ops: "
                + supported.joined(separator: ", ")
        case .unsupportedUsage(let node, let opType, let message): return "node '\(node)' (\(opType)): \(message)"
        case .limitExceeded(let node, let opType, let message): return "node '\(node)' (\(opType)): \(message)"
        case .badAttribute(let node, let opType, let attribute, let message):
            return "node '\(node)' (\(opType)): attribute '\(attribute)' \(message)"
        case .missingValue(let node, let opType, let value):
            return
                "node '\(node)' (\(opType)) reads '\(value)', which no graph input, initializer or earlier node defines"
        case .badTensor(let tensor, let message): return "tensor '\(tensor)': \(message)"
        case .unknownInputShape(let input, let declared, let example):
            return
                "input '\(input)' has shape \(declared), which is not fully known; give it with --input-shape, e.g. --input-shape \(example)"
        case .inputShapeMismatch(let input, let given, let message):
            return "--input-shape \(given.map(String.init).joined(separator: ",")) for input '\(input)': \(message)"
        case .invalidGraph(let e): return "the imported graph is invalid: \(e)"
        case .exportUnsupported(let node, let message): return "node '\(node)': cannot export to ONNX: \(message)"
        }
    }
}
