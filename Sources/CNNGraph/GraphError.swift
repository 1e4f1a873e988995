// Everything that can be wrong with a graph, naming the node or tensor at fault.
import CNNFormat

/// Everything that can be wrong with a graph, whether read from a file or built in code. One
/// case per way to be wrong, each naming the node, value or tensor at fault so that a user can
/// find it; the CLI maps all of them to exit code 3 (invalid input).
public enum GraphError: Error, Equatable, Sendable, CustomStringConvertible {
    case duplicateNodeName(String)
    case duplicateValue(value: String, node: String)
    case missingValue(node: String, value: String)
    case usedBeforeProduced(node: String, value: String, producer: String)
    case cycle([String])
    case missingOutput(String)
    case noInputs
    case missingTensor(node: String, role: String, tensor: String)
    case unreferencedTensors([String])
    case conflictingTensor(String)
    case invalidAttribute(node: String, message: String)
    case shapeMismatch(node: String, message: String)
    case badParameter(node: String, tensor: String, message: String)
    case wrongInputCount(node: String, op: String, expected: String, found: Int)
    case unsupportedInFormat(String)
    /// A value or plan beyond `SizeLimits` (or past what `Int` holds); the message says how big
    /// and what the limit is.
    case tooLarge(node: String, message: String)
    /// An enum field holding a number this reader does not know (a newer or damaged file).
    case unknownEnumValue(node: String, field: String, value: Int)

    /// One line; names from the file are escaped (`displaySafe`).
    public var description: String { displaySafe(text) }

    private var text: String {
        switch self {
        case .duplicateNodeName(let n): return "two nodes are named '\(n)'"
        case .duplicateValue(let v, let n):
            return "node '\(n)' produces '\(v)', which another node or input already defines"
        case .missingValue(let n, let v): return "node '\(n)' reads '\(v)', which no input or node produces"
        case .usedBeforeProduced(let n, let v, let p):
            return "node '\(n)' reads '\(v)' before node '\(p)' produces it — nodes must be in topological order"
        case .cycle(let path): return "the graph has a cycle: " + path.joined(separator: " → ")
        case .missingOutput(let v): return "graph output '\(v)' is produced by no node or input"
        case .noInputs: return "the graph declares no inputs"
        case .missingTensor(let n, let role, let t):
            return "node '\(n)' names \(role) tensor '\(t)', which the tensor table lacks"
        case .unreferencedTensors(let names):
            return "tensors no node uses: " + names.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
                + (names.count > 5 ? ", …" : "")
        case .conflictingTensor(let t): return "two different tensors are named '\(t)'"
        case .invalidAttribute(let n, let m): return "node '\(n)': \(m)"
        case .shapeMismatch(let n, let m): return "node '\(n)': \(m)"
        case .badParameter(let n, let t, let m): return "node '\(n)', tensor '\(t)': \(m)"
        case .wrongInputCount(let n, let op, let e, let f): return "node '\(n)' (\(op)) takes \(e) input(s), has \(f)"
        case .unsupportedInFormat(let m): return m
        case .tooLarge(let n, let m): return "node '\(n)': \(m)"
        case .unknownEnumValue(let n, let f, let v):
            return
                "node '\(n)': field '\(f)' holds \(v), which this reader does not know — the file is damaged or needs a newer cnnconv"
        }
    }
}
