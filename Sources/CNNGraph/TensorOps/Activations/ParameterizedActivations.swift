// The unary activations with attributes: Gelu (exact or tanh), Elu, Selu, Celu, Shrink.
import CNNKernels

extension UnaryOp {
    static let gelu: UnaryOp = {
        let defaults: [String: AttributeValue] = ["approximate": .string("none")]
        return UnaryOp(
            name: "Gelu", summary: "y = x · Φ(x) (approximate \"none\": with erf; \"tanh\": the tanh formula)",
            parameters: defaults, minimumOpset: 20
        ) { (op) throws(TensorOpError) -> UnaryFunction in
            switch try op.string("approximate", default: "none") {
            case "none": return .gelu
            case "tanh": return .geluTanh
            case let other:
                throw TensorOpError("attribute 'approximate' is \"\(other)\"; expected \"none\" or \"tanh\"")
            }
        }
    }()

    static let elu: UnaryOp = {
        let defaults: [String: AttributeValue] = ["alpha": .float(1)]
        return UnaryOp(name: "Elu", summary: "y = x if x ≥ 0, else alpha · (e^x − 1)", parameters: defaults) {
            (op) throws(TensorOpError) -> UnaryFunction in .elu(alpha: try parameter(op, "alpha", defaults))
        }
    }()

    static let selu: UnaryOp = {
        // ONNX's defaults, the float32 values of the SELU paper's constants.
        let defaults: [String: AttributeValue] = [
            "alpha": .float(1.67326319217681884765625), "gamma": .float(1.05070102214813232421875),
        ]
        return UnaryOp(
            name: "Selu", summary: "y = gamma · x if x > 0, else gamma · alpha · (e^x − 1)", parameters: defaults
        ) {
            (op) throws(TensorOpError) -> UnaryFunction in
            .selu(alpha: try parameter(op, "alpha", defaults), gamma: try parameter(op, "gamma", defaults))
        }
    }()

    static let celu: UnaryOp = {
        let defaults: [String: AttributeValue] = ["alpha": .float(1)]
        return UnaryOp(
            name: "Celu", summary: "y = max(0, x) + min(0, alpha · (e^(x/alpha) − 1))", parameters: defaults,
            minimumOpset: 12
        ) {
            (op) throws(TensorOpError) -> UnaryFunction in
            .celu(alpha: try parameter(op, "alpha", defaults, positive: true))
        }
    }()

    static let shrink: UnaryOp = {
        let defaults: [String: AttributeValue] = ["lambd": .float(0.5), "bias": .float(0)]
        return UnaryOp(
            name: "Shrink", summary: "y = x + bias if x < −lambd, x − bias if x > lambd, else 0", parameters: defaults
        ) {
            (op) throws(TensorOpError) -> UnaryFunction in
            .shrink(lambd: try parameter(op, "lambd", defaults), bias: try parameter(op, "bias", defaults))
        }
    }()
}
