// What one op of a graph is, in one place: every `Op` case gets a definition (its payload, or a
// small struct for a case without one) that gives its name, parameters, shape rule and checks,
// cost, inspect text, format mapping and ONNX export. Op.swift's `definition` is the one switch
// over the cases; validation, shape inference, inspect, the format and the exporter call through
// it. The fold passes and the executor still pattern-match on the cases they treat specially.
import CNNFormat
import CNNKernels

/// Everything the graph-level tools need to know about one kind of op. Package-wide, not public:
/// the public API stays `Op`'s own members (`kindName`, `parameters`, `macs`, …), which forward
/// here, so that an op's implementation can change without an API break.
package protocol OpDefinition: Sendable {
    /// The op this definition describes, as the graph holds it (parameter edits go back through it).
    var op: Op { get }

    /// The name in reports, inspect and error messages ("Conv2d", "ReLU6").
    var kindName: String { get }
    /// Every name `kindName` can give for this kind, so that lists of op names (inspect's, the
    /// docs') can be checked against the definitions without building one op of each variant.
    static var kindNames: [String] { get }
    /// The fields of `Node.op` in schema/cnnmodel.proto this kind is stored as (a test checks that
    /// every field belongs to exactly one definition).
    static var formatFields: [String] { get }
    /// One line for schema/op-kinds.md: what the op computes.
    static var summary: String { get }
    /// The ONNX op types the importer turns into this kind (a test checks each is in
    /// `ONNXImporter.supportedOps`).
    static var onnxImportTypes: [String] { get }
    /// The ONNX op types `exportONNX` may write for this kind.
    static var onnxExportTypes: [String] { get }

    /// Every parameter tensor with its role ("weight", "running_variance"), in a fixed order.
    var parameters: [(role: String, tensor: Tensor)] { get }
    /// Calls `transform` on every parameter tensor and keeps what it returns; shapes must not change.
    mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows

    /// The shape the node's outputs take for these input shapes. Checks the input count, every
    /// attribute and every parameter's shape, and throws naming the node: validation, shape
    /// inference and the importer rely on it to refuse (never trap on) anything a file can hold.
    func outputShape(of node: Node, inputs: [[Int]]) throws(GraphError) -> [Int]
    /// Checks parameter values that shapes cannot (BatchNorm variances ≥ 0); finiteness of every
    /// parameter is checked for all ops by validation itself.
    func validateParameterValues(of node: Node) throws(GraphError)

    /// Multiply-accumulates for the whole batch (callers divide by N); saturates at `Int.max`.
    func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int
    /// Key attributes in the field's shorthand, for inspect ("3→16 k3 s2 p1 g32").
    func attributeSummary(inputShapes: [[Int]]) -> String

    /// The executor's step for this op on fixed buffers in `T` (KernelBinding.swift), prepared once
    /// per plan; nil for the ops CNNRuntime/Plan.swift binds itself (pre-packed weights, train
    /// modes). The step must not allocate per element.
    func prepare<T: KernelScalar>(_ buffers: KernelBuffers<T>, parameters: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?

    /// Writes the op's fields into the wire node (parameters registered through `encoder`).
    func encode(into node: inout Cnnconv_V1_Node, _ encoder: inout GraphEncoder) throws(GraphError)

    /// The lowest default-domain ONNX opset whose ops express this op exactly in onnxruntime.
    var onnxMinimumOpset: Int { get }
    /// Writes the ONNX node(s) computing `node`; the last one carries the node's name and outputs,
    /// so that export → import finds the same graph.
    func exportONNX<Builder: ONNXExportBuilder>(_ node: Node, into builder: inout Builder) throws(OpExportError)
}

extension OpDefinition {
    package var parameters: [(role: String, tensor: Tensor)] { [] }
    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {}
    package func validateParameterValues(of node: Node) throws(GraphError) {}
    package func macs(inputShapes: [[Int]], outputShape: [Int]) -> Int { 0 }
    package func attributeSummary(inputShapes: [[Int]]) -> String { "" }
    package var onnxMinimumOpset: Int { 17 }
    package func prepare<T: KernelScalar>(_ buffers: KernelBuffers<T>, parameters: KernelParameters<T>)
        throws(KernelError)
        -> (() throws -> Void)?
    { nil }
    package static var kindNames: [String] { [] }
    package static var onnxImportTypes: [String] { [] }
}

/// Why an op cannot be written as ONNX; the exporter adds the node's name.
package struct OpExportError: Error, Equatable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// What an op's ONNX export writes through, so that definitions in this module state their ONNX
/// form without depending on the ONNX module (CNNONNX's writer conforms). Names it returns are
/// unique in the exported graph.
package protocol ONNXExportBuilder {
    /// The shape of a graph value at batch 1 (nil for a value the graph does not have).
    func shape(of value: String) -> [Int]?
    /// A value name no value or initializer uses yet, starting from `base`.
    mutating func fresh(_ base: String) -> String
    /// A float initializer; with `shared`, a graph tensor keeps its name and is written once.
    mutating func initializer(_ name: String, shape: [Int], floats: [Float], shared: Bool) -> String
    /// An int64 initializer, 1-D unless `shape` says otherwise.
    mutating func ints(_ name: String, _ values: [Int], shape: [Int]?) -> String
    /// A 1-D int32 initializer (values the caller has checked fit in 32 bits).
    mutating func int32s(_ name: String, _ values: [Int]) -> String
    /// A parameter tensor as an initializer, reshaped when `shape` differs from its own.
    mutating func param(_ tensor: Tensor, shape: [Int]?) -> String
    /// One ONNX node; attributes are written in the order given.
    mutating func node(
        _ opType: String, _ name: String, _ inputs: [String], _ outputs: [String],
        attributes: [(String, AttributeValue)])
}

extension ONNXExportBuilder {
    package mutating func initializer(_ name: String, shape: [Int], floats: [Float]) -> String {
        initializer(name, shape: shape, floats: floats, shared: false)
    }
    package mutating func ints(_ name: String, _ values: [Int]) -> String { ints(name, values, shape: nil) }
    package mutating func param(_ tensor: Tensor) -> String { param(tensor, shape: nil) }
    package mutating func node(_ opType: String, _ name: String, _ inputs: [String], _ outputs: [String]) {
        node(opType, name, inputs, outputs, attributes: [])
    }
    /// A normalization's per-channel γ and β as ONNX requires them: 1s and 0s named after the
    /// node when the op has none.
    package mutating func channelScaleAndBias(_ scale: Tensor?, _ bias: Tensor?, channels c: Int, node: String) -> (
        String, String
    ) {
        let s =
            scale.map { param($0, shape: [c]) }
            ?? initializer("\(node).scale", shape: [c], floats: .init(repeating: 1, count: c))
        let b =
            bias.map { param($0, shape: [c]) }
            ?? initializer("\(node).bias", shape: [c], floats: .init(repeating: 0, count: c))
        return (s, b)
    }
}

/// An op whose only parameters are an optional γ (`scale`) and β (`bias`): the normalizations
/// that do not fold. Lists and maps them in that order.
package protocol ScaleAndBiasParameters: OpDefinition {
    var scale: Tensor? { get set }
    var bias: Tensor? { get set }
}

extension ScaleAndBiasParameters {
    package var parameters: [(role: String, tensor: Tensor)] { optionalScaleAndBias(scale, bias) }
    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        try mapOptional(&scale, transform)
        try mapOptional(&bias, transform)
    }
}

/// A layer with a weight, an optional bias and an optional reparameterization (Conv2d, Linear):
/// weight, bias, then the weight-norm gain.
package protocol ReparameterizedWeightParameters: OpDefinition {
    var weight: Tensor { get set }
    var bias: Tensor? { get set }
    var reparameterization: WeightReparameterization? { get set }
}

extension ReparameterizedWeightParameters {
    package var parameters: [(role: String, tensor: Tensor)] {
        WeightReparameterization.parameters(weight: weight, bias: bias, reparameterization)
    }
    package mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        weight = try transform(weight)
        try mapOptional(&bias, transform)
        try WeightReparameterization.mapGain(&reparameterization, transform)
    }
}

/// The roles of an optional γ and β, in the order every op holding them lists them.
func optionalScaleAndBias(_ scale: Tensor?, _ bias: Tensor?) -> [(role: String, tensor: Tensor)] {
    var out: [(role: String, tensor: Tensor)] = []
    if let scale { out.append(("scale", scale)) }
    if let bias { out.append(("bias", bias)) }
    return out
}

/// Maps an optional parameter (a bias, γ, β) when it is there.
func mapOptional(_ tensor: inout Tensor?, _ transform: (Tensor) throws -> Tensor) rethrows {
    if let t = tensor { tensor = try transform(t) }
}

/// The ONNX attributes of a 2-D window (Conv, ConvTranspose, MaxPool, AveragePool).
func onnxWindowAttributes(_ w: Window2d, dilation: Bool = true) -> [(String, AttributeValue)] {
    var a: [(String, AttributeValue)] = [
        ("kernel_shape", .ints([w.kernelH, w.kernelW])), ("strides", .ints([w.strideH, w.strideW])),
        ("pads", .ints([w.padTop, w.padLeft, w.padBottom, w.padRight])),
    ]
    if dilation { a.append(("dilations", .ints([w.dilationH, w.dilationW]))) }
    return a
}

/// Inspect's shorthand for a 2-D window: "k3 s2 p1", "k1×7 s1 p(0,3,0,3) d2".
func windowSummary(_ w: Window2d) -> String {
    var parts: [String] = []
    parts.append(w.kernelH == w.kernelW ? "k\(w.kernelH)" : "k\(w.kernelH)×\(w.kernelW)")
    parts.append(w.strideH == w.strideW ? "s\(w.strideH)" : "s\(w.strideH)×\(w.strideW)")
    let pads = [w.padTop, w.padLeft, w.padBottom, w.padRight]
    if Set(pads).count == 1 {
        parts.append("p\(w.padTop)")
    } else {
        parts.append("p(\(pads.map(String.init).joined(separator: ",")))")
    }
    if w.dilationH != 1 || w.dilationW != 1 {
        parts.append(w.dilationH == w.dilationW ? "d\(w.dilationH)" : "d\(w.dilationH)×\(w.dilationW)")
    }
    return parts.joined(separator: " ")
}
