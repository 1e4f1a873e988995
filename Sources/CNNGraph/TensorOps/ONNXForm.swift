// The ONNX side of tensor-op definitions, in neutral types: what a definition reads of an ONNX
// node on import and what it writes on export. CNNONNX turns protobufs into these and back, so a
// definition states its ONNX mapping without depending on the ONNX module.

/// A constant input of an ONNX node as the importer resolved it (an initializer, a Constant, or a
/// folded shape computation).
public struct ONNXConstant: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Double]
    /// Whether the ONNX type was an integer or boolean type (values are then exact integers).
    public var isInteger: Bool
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
    case constant(ONNXConstant)
}

/// An ONNX node as a tensor-op definition sees it on import.
public struct ONNXNodeView: Sendable {
    public var opType: String
    /// The model's default-domain opset.
    public var opset: Int
    /// Integer, float, string and list attributes (tensor and graph attributes are left out).
    public var attributes: [String: AttributeValue]
    public var inputs: [ONNXInput]
    /// Outputs the node declares (trailing empty names dropped).
    public var outputCount: Int

    public init(opType: String, opset: Int, attributes: [String: AttributeValue], inputs: [ONNXInput], outputCount: Int) {
        self.opType = opType; self.opset = opset; self.attributes = attributes; self.inputs = inputs
        self.outputCount = outputCount
    }

    public func input(_ i: Int) -> ONNXInput { i < inputs.count ? inputs[i] : .absent }

    /// A required integer-list input that must be constant (Reshape's shape, Slice's starts).
    public func constantInts(_ i: Int, _ role: String) throws(TensorOpError) -> [Int]? {
        switch input(i) {
        case .absent: return nil
        case .value: throw TensorOpError("the \(role) input is computed at run time; only constant \(role) is supported")
        case .constant(let c):
            guard c.values.count <= TensorOps.maxAttributeValues else { throw TensorOpError("the \(role) input has \(c.values.count) values") }
            guard let v = c.ints else { throw TensorOpError("the \(role) input holds a value that is not an integer") }
            return v
        }
    }

    /// A float constant input as a parameter tensor named `name`.
    public func constantTensor(_ i: Int, name: String) -> Tensor? {
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
                out.append(.constant(Tensor(name: "\(prefix)_\(i)", shape: c.shape, values: c.values.map { Float($0) })))
            }
        }
        return out
    }

    public func int(_ key: String, default value: Int) throws(TensorOpError) -> Int {
        switch attributes[key] {
        case .int(let v)?: return v
        case nil: return value
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected an integer")
        }
    }

    public func ints(_ key: String) throws(TensorOpError) -> [Int]? {
        switch attributes[key] {
        case .ints(let v)?: return v
        case nil: return nil
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected integers")
        }
    }

    public func float(_ key: String, default value: Double) throws(TensorOpError) -> Double {
        switch attributes[key] {
        case .float(let v)?: return v
        case nil: return value
        case let other?: throw TensorOpError("attribute '\(key)' is \(other), expected a float")
        }
    }

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
    /// A float initializer of any shape (Pad's constant_value).
    case floatTensor(shape: [Int], values: [Double])
    /// An omitted optional input (an empty name).
    case absent
}

/// The ONNX node a tensor op exports as.
public struct ONNXNodeForm: Sendable, Equatable {
    public var opType: String
    public var attributes: [String: AttributeValue]
    public var inputs: [ONNXFormInput]
    /// The lowest default-domain opset at which this form has this meaning.
    public var minimumOpset: Int

    public init(opType: String, attributes: [String: AttributeValue] = [:], inputs: [ONNXFormInput], minimumOpset: Int = 13) {
        self.opType = opType; self.attributes = attributes; self.inputs = inputs; self.minimumOpset = minimumOpset
    }

    /// Every operand in order, attributes as given.
    public static func operands(_ opType: String, _ op: TensorOp, attributes: [String: AttributeValue] = [:],
                                minimumOpset: Int = 13) -> ONNXNodeForm {
        ONNXNodeForm(opType: opType, attributes: attributes, inputs: op.operands.indices.map { .operand($0) },
                     minimumOpset: minimumOpset)
    }
}
