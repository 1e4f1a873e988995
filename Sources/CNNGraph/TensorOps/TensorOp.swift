// General tensor operations (Slice, Reshape, MatMul, broadcasting arithmetic, …): one value type
// for all of them in the graph and the format, and one `TensorOpDefinition` per kind that says
// everything about it — attributes, shape rule, cost, kernel, ONNX mapping, inspect text — in
// one file under TensorOps/. Adding a kind means writing that file and listing it in
// `TensorOps.all`; the graph, format, executor, importer, exporter and inspect find it there.
import CNNKernels

/// An attribute of a tensor op. Integer-valued inputs that ONNX passes as tensors (Slice starts,
/// Reshape's target, Gather's indices) are attributes here: they are part of the op, not data.
public enum AttributeValue: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// One integer ("axis").
    case int(Int)
    /// An integer list ("perm", a constant input such as Slice's starts).
    case ints([Int])
    /// One number, kept as Double so that ONNX's float attributes round-trip exactly.
    case float(Double)
    /// A list of numbers.
    case floats([Double])
    /// A string ("mode").
    case string(String)

    /// The value as inspect and error messages show it (lists in brackets, strings quoted).
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ", ") + "]"
        case .float(let v): return String(v)
        case .floats(let v): return "[" + v.map { String($0) }.joined(separator: ", ") + "]"
        case .string(let v): return "\"\(v)\""
        }
    }
}

/// One operand of a tensor op, in the op's operand order: the node's next run-time input, or a
/// constant tensor the op carries (a bias added with broadcasting, a fixed Concat part).
public enum Operand: Sendable, Equatable {
    /// The node's next run-time input (inputs are taken in order).
    case input
    /// A tensor the op carries and the format stores with its parameters.
    case constant(Tensor)
}

/// A general tensor operation: its kind names the `TensorOpDefinition` that gives its meaning.
public struct TensorOp: Sendable, Equatable {
    /// The definition's name ("Slice", "MatMul").
    public var kind: String
    /// The kind's attributes by name, read through the typed getters below.
    public var attributes: [String: AttributeValue]
    /// All operands in order; `.input` ones take the node's inputs in turn.
    public var operands: [Operand]

    /// An op of `kind` with these operands; checked by its definition when the graph is validated.
    public init(kind: String, attributes: [String: AttributeValue] = [:], operands: [Operand]) {
        self.kind = kind; self.attributes = attributes; self.operands = operands
    }

    /// A kind whose operands are all run-time inputs.
    public init(kind: String, attributes: [String: AttributeValue] = [:], inputs: Int) {
        self.init(kind: kind, attributes: attributes, operands: Array(repeating: .input, count: inputs))
    }

    /// The constant operands with their operand positions.
    public var constants: [(position: Int, tensor: Tensor)] {
        operands.enumerated().compactMap { i, o in if case .constant(let t) = o { return (i, t) } else { return nil } }
    }

    /// How many run-time inputs the node must have.
    public var inputCount: Int { operands.count { $0 == .input } }

    /// The shapes of all operands given the run-time inputs' shapes (in node order).
    public func operandShapes(_ inputShapes: [[Int]]) -> [[Int]] {
        var next = inputShapes.makeIterator()
        return operands.map { o in
            switch o {
            case .input: return next.next() ?? []
            case .constant(let t): return t.shape
            }
        }
    }

    /// The definition of this op's kind, nil for a kind this build does not know.
    public var definition: (any TensorOpDefinition)? { TensorOps.definition(named: kind) }

    // Typed attribute reads for definitions; each throws naming the attribute.

    /// An integer attribute (or `value` when absent); throws naming the attribute when it is
    /// missing without a default or has another type, so a definition never traps on a file.
    public func int(_ key: String, default value: Int? = nil) throws(TensorOpError) -> Int {
        switch attributes[key] {
        case .int(let v)?: return v
        case nil: if let value { return value }; throw TensorOpError("attribute '\(key)' is required")
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected an integer")
        }
    }

    /// An integer-list attribute (a single integer counts as a list of one), or `value`; throws
    /// naming the attribute when it is missing without a default or has another type.
    public func ints(_ key: String, default value: [Int]? = nil) throws(TensorOpError) -> [Int] {
        switch attributes[key] {
        case .ints(let v)?: return v
        case .int(let v)?: return [v]
        case nil: if let value { return value }; throw TensorOpError("attribute '\(key)' is required")
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected integers")
        }
    }

    /// An integer-list attribute, or nil when absent (optional ONNX inputs such as Slice's steps).
    func optionalInts(_ key: String) throws(TensorOpError) -> [Int]? {
        attributes[key] == nil ? nil : try ints(key)
    }

    /// A number (an integer is accepted), or `value`; throws naming the attribute otherwise.
    public func float(_ key: String, default value: Double? = nil) throws(TensorOpError) -> Double {
        switch attributes[key] {
        case .float(let v)?: return v
        case .int(let v)?: return Double(v)
        case nil: if let value { return value }; throw TensorOpError("attribute '\(key)' is required")
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected a number")
        }
    }

    /// A number list (one number counts as a list of one), or `value`; throws naming it otherwise.
    public func floats(_ key: String, default value: [Double]? = nil) throws(TensorOpError) -> [Double] {
        switch attributes[key] {
        case .floats(let v)?: return v
        case .float(let v)?: return [v]
        case nil: if let value { return value }; throw TensorOpError("attribute '\(key)' is required")
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected numbers")
        }
    }

    /// A string attribute, or `value`; throws naming the attribute otherwise.
    public func string(_ key: String, default value: String? = nil) throws(TensorOpError) -> String {
        switch attributes[key] {
        case .string(let v)?: return v
        case nil: if let value { return value }; throw TensorOpError("attribute '\(key)' is required")
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected a string")
        }
    }
}

/// Why a tensor op's attributes or shapes are refused; the caller adds the node's name.
public struct TensorOpError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, without the node's name (the caller that knows it adds it).
    public var message: String
    /// An error with this message; definitions throw it for any attribute or shape they refuse.
    public init(_ message: String) { self.message = message }
    /// The message, as the caller embeds it in a `GraphError` or `ONNXError`.
    public var description: String { message }
}

/// A compiled step: reads the operands (constants included, converted to the scalar) and writes
/// every output. Buffers are dense row-major at the shapes the definition inferred.
public typealias TensorKernel<T> = (_ operands: [UnsafePointer<T>], _ outputs: [UnsafeMutablePointer<T>]) -> Void

/// Everything about one kind of tensor op. Definitions are stateless values listed in
/// `TensorOps.all`.
public protocol TensorOpDefinition: Sendable {
    /// The kind's name in the format, in reports and in inspect.
    var name: String { get }
    /// The ONNX op types this definition imports (most often `[name]`).
    var onnxTypes: [String] { get }
    /// One line for FORMAT.md and `--help`: what the op computes.
    var summary: String { get }

    /// The output shapes for these operand shapes (constants included, in operand order);
    /// checks every attribute. Called by validation, shape inference and the importer: it must
    /// refuse (never trap) on any attribute a file can hold.
    func outputShapes(_ op: TensorOp, operands: [[Int]]) throws(TensorOpError) -> [[Int]]

    /// Multiply-accumulates of one run (0 for data movement), for inspect's FLOPs.
    func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int

    /// Elements of working memory the step allocates while it runs, beyond its outputs (an
    /// upper bound; `Int.max` when it overflows). The executor counts it against its memory
    /// limit before running, as it counts a convolution's scratch.
    func scratchElements(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int

    /// The step computing the op at these shapes, in `T`. Prepares what it can once (index
    /// tables, strides); the returned closure must not allocate per element.
    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>

    /// The op for one ONNX node, or a `TensorOpError` saying what is not supported.
    func importONNX(_ node: ONNXNodeView) throws(TensorOpError) -> TensorOp

    /// The ONNX node(s) for this op (at opset `ONNXNodeView.exportOpset`).
    func exportONNX(_ op: TensorOp) throws(TensorOpError) -> ONNXNodeForm

    /// The attributes as inspect shows them ("axes [1, 2], keepdims").
    func describe(_ op: TensorOp) -> String
}

extension TensorOpDefinition {
    /// Default: the ONNX op type has the kind's name.
    public var onnxTypes: [String] { [name] }
    /// Default for data movement: no multiply-accumulates.
    public func macs(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int { 0 }
    /// Default: the step works in its outputs only.
    public func scratchElements(_ op: TensorOp, operands: [[Int]], outputs: [[Int]]) -> Int { 0 }
    /// Default: every attribute as "name value", sorted by name so the text is stable.
    public func describe(_ op: TensorOp) -> String {
        op.attributes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

/// The registry of tensor-op kinds.
public enum TensorOps {
    /// Every kind this build knows, one entry per file in TensorOps/, by group (each group's
    /// list is in its folder's Group.swift).
    public static let all: [any TensorOpDefinition] = movement + elementwise + math + activations + recurrent

    private static let byName: [String: any TensorOpDefinition] = Dictionary(
        all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    private static let byONNXType: [String: any TensorOpDefinition] = Dictionary(
        all.flatMap { d in d.onnxTypes.map { ($0, d) } }, uniquingKeysWith: { a, _ in a })

    /// The definition stored under `name` in a file, or nil for a kind this build does not know
    /// (the reader then refuses the file naming the node).
    public static func definition(named name: String) -> (any TensorOpDefinition)? { byName[name] }
    /// The definition importing ONNX op type `onnxType`, or nil: the importer's list of
    /// supported tensor ops is this lookup, not a list kept by hand.
    public static func definition(onnxType: String) -> (any TensorOpDefinition)? { byONNXType[onnxType] }

    /// The most dimensions a tensor-op value may have.
    public static let maxRank = 6
    /// The most values an integer-list attribute may hold (Gather's indices are the longest).
    public static let maxAttributeValues = 1 << 20
}
