// The ONNX side of tensor-op definitions, in neutral types: what a definition reads of an ONNX
// node on import and what it writes on export. CNNONNX turns protobufs into these and back, so a
// definition states its ONNX mapping without depending on the ONNX module.

/// A constant input of an ONNX node as the importer resolved it (an initializer, a Constant, or a
/// folded shape computation).
public struct ONNXConstant: Sendable, Equatable {
    /// Dimensions of the constant, as ONNX declared them (`[]` for a scalar).
    public var shape: [Int]
    /// The elements, row-major, widened to Double so that int64 indices up to 2^53 stay exact.
    public var values: [Double]
    /// Whether the ONNX type was an integer or boolean type (values are then exact integers).
    public var isInteger: Bool
    /// A constant as the importer resolved it; `values.count` matches `shape`.
    public init(shape: [Int], values: [Double], isInteger: Bool) {
        self.shape = shape; self.values = values; self.isInteger = isInteger
    }
    /// The values as integers; nil when one is not an integer within ±2^53.
    public var ints: [Int]? {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard v.isFinite, v.rounded() == v, abs(v) <= 9_007_199_254_740_992 else { return nil }
            out.append(Int(v))
        }
        return out
    }
}

/// One input of an ONNX node.
public enum ONNXInput: Sendable, Equatable {
    /// Empty name or past the end: an omitted optional input.
    case absent
    /// A run-time value, with its shape at the import batch.
    case value(shape: [Int])
    /// A value fixed at import time; definitions turn it into attributes or constant operands.
    case constant(ONNXConstant)
}

/// An ONNX node as a tensor-op definition sees it on import.
public struct ONNXNodeView: Sendable {
    /// The ONNX op type ("Slice"), for definitions that import several (`onnxTypes`).
    public var opType: String
    /// The model's default-domain opset.
    public var opset: Int
    /// Integer, float, string and list attributes (tensor and graph attributes are left out); a
    /// list of strings (LSTM's `activations`) arrives as one string, its items joined by commas.
    public var attributes: [String: AttributeValue]
    /// Every input in ONNX order, resolved to absent, run-time or constant.
    public var inputs: [ONNXInput]
    /// Outputs the node declares (trailing empty names dropped).
    public var outputCount: Int

    /// A node as CNNONNX hands it to a definition (tests build one directly).
    public init(opType: String, opset: Int, attributes: [String: AttributeValue], inputs: [ONNXInput], outputCount: Int)
    {
        self.opType = opType; self.opset = opset; self.attributes = attributes; self.inputs = inputs
        self.outputCount = outputCount
    }

    /// Input `i`, or `.absent` past the end: ONNX lets a node omit trailing optional inputs.
    public func input(_ i: Int) -> ONNXInput { i < inputs.count ? inputs[i] : .absent }

    /// A required integer-list input that must be constant (Reshape's shape, Slice's starts).
    func constantInts(_ i: Int, _ role: String) throws(TensorOpError) -> [Int]? {
        switch input(i) {
        case .absent: return nil
        case .value:
            throw TensorOpError("the \(role) input is computed at run time; only constant \(role) is supported")
        case .constant(let c):
            guard c.values.count <= TensorOps.maxAttributeValues else {
                throw TensorOpError("the \(role) input has \(c.values.count) values")
            }
            guard let v = c.ints else { throw TensorOpError("the \(role) input holds a value that is not an integer") }
            return v
        }
    }

    /// A float constant input as a parameter tensor named `name`.
    func constantTensor(_ i: Int, name: String) -> Tensor? {
        guard case .constant(let c) = input(i) else { return nil }
        return Tensor(name: name, shape: c.shape, values: c.values.map { Float($0) })
    }

    /// The op reading input positions in order: run-time values become `.input`, constants
    /// become constant operands named `<prefix>_<position>`.
    public func operands(_ positions: [Int], constantPrefix prefix: String) throws(TensorOpError) -> [Operand] {
        var out: [Operand] = []
        for i in positions {
            switch input(i) {
            case .absent: throw TensorOpError("input \(i) is required")
            case .value: out.append(.input)
            case .constant(let c):
                out.append(
                    .constant(Tensor(name: "\(prefix)_\(i)", shape: c.shape, values: c.values.map { Float($0) })))
            }
        }
        return out
    }

    /// An integer attribute, or `value` when absent; throws naming the attribute when it has
    /// another type, so a damaged model is refused rather than misread.
    public func int(_ key: String, default value: Int) throws(TensorOpError) -> Int {
        switch attributes[key] {
        case .int(let v)?: return v
        case nil: return value
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected an integer")
        }
    }

    /// An integer-list attribute, or nil when absent; throws naming it when it has another type.
    public func ints(_ key: String) throws(TensorOpError) -> [Int]? {
        switch attributes[key] {
        case .ints(let v)?: return v
        case nil: return nil
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected integers")
        }
    }

    /// A float attribute, or `value` when absent; throws naming it when it has another type.
    public func float(_ key: String, default value: Double) throws(TensorOpError) -> Double {
        switch attributes[key] {
        case .float(let v)?: return v
        case nil: return value
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected a float")
        }
    }

    /// A string attribute, or `value` when absent; throws naming it when it has another type.
    public func string(_ key: String, default value: String) throws(TensorOpError) -> String {
        switch attributes[key] {
        case .string(let v)?: return v
        case nil: return value
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected a string")
        }
    }
}

/// One input of an exported ONNX node.
public enum ONNXFormInput: Sendable, Equatable {
    /// The op's operand at this position (a run-time value, or its constant as an initializer).
    case operand(Int)
    /// A 1-D int64 initializer with these values (Reshape's shape, Slice's starts).
    case ints([Int])
    /// An int64 initializer of any shape (Gather's scalar or 2-D indices).
    case intTensor(shape: [Int], values: [Int])
    /// A 1-D int32 initializer (LSTM's and GRU's sequence_lens, which ONNX types int32).
    case int32s([Int])
    /// A float initializer of any shape (Pad's constant_value).
    case floatTensor(shape: [Int], values: [Double])
    /// An omitted optional input (an empty name).
    case absent
}

/// The ONNX node a tensor op exports as.
public struct ONNXNodeForm: Sendable, Equatable {
    /// The ONNX op type to write ("Reshape").
    public var opType: String
    /// Attributes to write, in the neutral form the exporter converts to protobuf.
    public var attributes: [String: AttributeValue]
    /// The node's inputs in ONNX order: operands, or initializers the exporter creates.
    public var inputs: [ONNXFormInput]
    /// The lowest default-domain opset at which this form has this meaning.
    public var minimumOpset: Int

    /// An exported node; the opset defaults to 13, the lowest the exporter writes.
    public init(
        opType: String, attributes: [String: AttributeValue] = [:], inputs: [ONNXFormInput], minimumOpset: Int = 13
    ) {
        self.opType = opType; self.attributes = attributes; self.inputs = inputs; self.minimumOpset = minimumOpset
    }

    /// Every operand in order, attributes as given.
    public static func operands(
        _ opType: String, _ op: TensorOp, attributes: [String: AttributeValue] = [:],
        minimumOpset: Int = 13
    ) -> ONNXNodeForm {
        ONNXNodeForm(
            opType: opType, attributes: attributes, inputs: op.operands.indices.map { .operand($0) },
            minimumOpset: minimumOpset)
    }
}
