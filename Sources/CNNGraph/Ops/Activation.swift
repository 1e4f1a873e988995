// The classic element-wise activations (ReLU, Clip/ReLU6, LeakyReLU, Sigmoid, Tanh, HardSigmoid,
// HardSwish, SiLU), one op with a case each: they share their shape rule and their kernel
// (CNNKernels' activate, bound in CNNRuntime/Plan.swift, fused after conv by CNNRuntime/Fusion.swift).
import CNNFormat
import CNNKernels

/// The element-wise activations classic CNNs use, as one op: they share a shape rule, a fused
/// kernel after conv, and (for the positively homogeneous ones) the dropout fold through them.
public enum Activation: Sendable, Equatable {
    case relu
    case clip(min: Float, max: Float)
    case leakyRelu(alpha: Float)
    case sigmoid
    case tanh
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
    case silu

    /// f(a·x) = a·f(x) for a > 0: a positive scale passes through it unchanged.
    public var isPositivelyHomogeneous: Bool {
        switch self {
        case .relu, .leakyRelu: return true
        default: return false
        }
    }
}

extension Activation: OpDefinition {
    package var op: Op { .activation(self) }
    package var kindName: String {
        switch self {
        case .relu: return "ReLU"
        case .clip(let lo, let hi): return lo == 0 && hi == 6 ? "ReLU6" : "Clip"
        case .leakyRelu: return "LeakyReLU"
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        case .hardSigmoid: return "HardSigmoid"
        case .hardSwish: return "HardSwish"
        case .silu: return "SiLU"
        }
    }
    package static var kindNames: [String] {
        ["ReLU", "ReLU6", "Clip", "LeakyReLU", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "SiLU"]
    }
    package static var formatFields: [String] {
        ["relu", "clip", "leaky_relu", "sigmoid", "tanh", "hard_sigmoid", "hard_swish", "silu"]
    }
    package static var summary: String {
        "ReLU, Clip (ReLU6), LeakyReLU, Sigmoid, Tanh, HardSigmoid, HardSwish, SiLU, element-wise"
    }
    package static var onnxImportTypes: [String] {
        ["Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"]
    }
    package static var onnxExportTypes: [String] {
        ["Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Mul"]
    }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        switch self {
        case .clip(let lo, let hi):
            // Infinite bounds are how a one-sided clip is written; NaN fails the comparison.
            guard lo <= hi else { throw node.bad("clip bounds [\(lo), \(hi)] are empty or not numbers") }
        case .leakyRelu(let alpha):
            guard alpha.isFinite else { throw node.bad("LeakyReLU alpha is \(alpha), must be finite") }
        case .hardSigmoid(let alpha, let beta):
            guard alpha.isFinite, beta.isFinite else {
                throw node.bad("HardSigmoid alpha \(alpha) and beta \(beta) must be finite")
            }
        case .relu, .sigmoid, .tanh, .hardSwish, .silu:
            break
        }
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        switch self {
        case .clip(let lo, let hi): return lo == 0 && hi == 6 ? "" : "[\(trimmed(Double(lo))), \(trimmed(Double(hi)))]"
        case .leakyRelu(let alpha): return "α=\(trimmed(Double(alpha)))"
        case .hardSigmoid(let alpha, let beta): return "α=\(trimmed(Double(alpha))) β=\(trimmed(Double(beta)))"
        case .relu, .sigmoid, .tanh, .hardSwish, .silu: return ""
        }
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let (k, x, y, n) = (kernel, b.x, b.output, b.count)
        return { activate(k, input: x, output: y, count: n) }
    }

    /// The kernels' activation (parameters widened to Double), also used by conv fusion.
    package var kernel: CNNKernels.Activation {
        switch self {
        case .relu: return .relu
        case .clip(let lo, let hi): return .clip(min: Double(lo), max: Double(hi))
        case .leakyRelu(let alpha): return .leakyRelu(alpha: Double(alpha))
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        case .hardSigmoid(let alpha, let beta): return .hardSigmoid(alpha: Double(alpha), beta: Double(beta))
        case .hardSwish: return .hardSwish
        case .silu: return .silu
        }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        switch self {
        case .relu: n.relu = .init()
        case .clip(let lo, let hi): var o = Cnnconv_V1_Clip(); o.min = lo; o.max = hi; n.clip = o
        case .leakyRelu(let alpha): var o = Cnnconv_V1_LeakyRelu(); o.alpha = alpha; n.leakyRelu = o
        case .sigmoid: n.sigmoid = .init()
        case .tanh: n.tanh = .init()
        case .hardSigmoid(let alpha, let beta):
            var o = Cnnconv_V1_HardSigmoid(); o.alpha = alpha; o.beta = beta; n.hardSigmoid = o
        case .hardSwish: n.hardSwish = .init()
        case .silu: n.silu = .init()
        }
    }

    // One decode per stored message; the decoder's switch over `Node.op` picks the overload.
    static func decode(_: Cnnconv_V1_Relu) -> Op { .activation(.relu) }
    static func decode(_ c: Cnnconv_V1_Clip) -> Op { .activation(.clip(min: c.min, max: c.max)) }
    static func decode(_ l: Cnnconv_V1_LeakyRelu) -> Op { .activation(.leakyRelu(alpha: l.alpha)) }
    static func decode(_: Cnnconv_V1_Sigmoid) -> Op { .activation(.sigmoid) }
    static func decode(_: Cnnconv_V1_Tanh) -> Op { .activation(.tanh) }
    static func decode(_ h: Cnnconv_V1_HardSigmoid) -> Op { .activation(.hardSigmoid(alpha: h.alpha, beta: h.beta)) }
    static func decode(_: Cnnconv_V1_HardSwish) -> Op { .activation(.hardSwish) }
    static func decode(_: Cnnconv_V1_Silu) -> Op { .activation(.silu) }

    /// SiLU has no ONNX op before opset 24: Sigmoid then Mul. A one-sided Clip leaves the
    /// missing bound's input out.
    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? "", y = n.output
        switch self {
        case .relu: b.node("Relu", n.name, [x], [y])
        case .sigmoid: b.node("Sigmoid", n.name, [x], [y])
        case .tanh: b.node("Tanh", n.name, [x], [y])
        case .hardSwish: b.node("HardSwish", n.name, [x], [y])
        case .leakyRelu(let alpha):
            b.node("LeakyRelu", n.name, [x], [y], attributes: [("alpha", .float(Double(alpha)))])
        case .hardSigmoid(let alpha, let beta):
            b.node(
                "HardSigmoid", n.name, [x], [y],
                attributes: [("alpha", .float(Double(alpha))), ("beta", .float(Double(beta)))])
        case .clip(let lo, let hi):
            let minName = lo == -.infinity ? "" : b.initializer("\(n.name).min", shape: [], floats: [lo])
            var ins = [x, minName]
            if hi != .infinity { ins.append(b.initializer("\(n.name).max", shape: [], floats: [hi])) }
            b.node("Clip", n.name, ins, [y])
        case .silu:
            let s = b.fresh("\(y).sigmoid")
            b.node("Sigmoid", "\(n.name).sigmoid", [x], [s])
            b.node("Mul", n.name, [x, s], [y])
        }
    }
}
