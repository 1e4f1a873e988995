// ONNX → Graph. Reads a ModelProto, folds what is known at import time, converts each node to
// an intermediate form, then recognises exporters' multi-node patterns (SiLU, HardSwish, MatMul+Add,
// Pad+Conv, channel shuffle, per-channel Mul/Add) and lowers everything to the typed graph.
import CNNFormat
import CNNGraph
import Foundation
import SwiftProtobuf

/// What an import did: the source model's facts, what was folded or fused, and notes on
/// anything the user should know (ignored training outputs, converted conventions).
public struct ImportReport: Sendable, Codable, Equatable {
    /// The imported file's path as given (`<memory>` for bytes passed in), for messages.
    public var source: String
    /// The file format revision (ONNX IR version) the model was written in, kept for the
    /// report and the graph's metadata; the opset, not this, decides op semantics.
    public var irVersion: Int
    /// The default-domain opset, which decides each op's attribute-versus-input conventions.
    public var opset: Int
    /// The ONNX model's producer ("pytorch 2.4.0"), empty when it names none.
    public var producer: String
    /// Nodes in the ONNX graph, before folding and pattern fusion (compare `graphNodeCount`).
    public var onnxNodeCount: Int
    /// Nodes in the imported graph: what the executor and `fold` will see.
    public var graphNodeCount: Int
    /// ONNX nodes evaluated at import (constants, shape arithmetic).
    public var foldedNodeCount: Int
    /// Multi-node patterns recognised, by the op they became ("SiLU": 3).
    public var fusedPatterns: [String: Int]
    /// Converted nodes whose results nothing used.
    public var removedDeadNodeCount: Int
    /// What the user should know about the conversion, one sentence each (ignored training
    /// outputs, conventions converted); `import` prints them.
    public var notes: [String]
}

/// ONNX files in, graphs out: the entry point `cnnconv import` and library users call, with
/// the limits (opset, nesting depth) it reads files under.
public enum ONNXImporter {
    /// The oldest default-domain opset read.
    public static let minimumOpset = 7
    /// How deeply protobuf messages may nest (ModelProto → GraphProto → NodeProto → AttributeProto
    /// → TensorProto is 5; a subgraph attribute adds 3 per level).
    public static let messageDepthLimit = 64

    /// Every ONNX op type the importer accepts (some only in the forms its message explains).
    public static let supportedOps: [String] = Array(
        Set([
            "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "ConvTranspose", "Div", "Dropout",
            "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "GroupNormalization", "HardSigmoid", "HardSwish",
            "Identity", "InstanceNormalization", "LRN", "LayerNormalization", "LeakyRelu", "MatMul", "MaxPool", "Mul",
            "Pad", "Relu", "Reshape", "Resize", "Sigmoid", "Softmax", "Squeeze", "Sub", "Sum", "Tanh", "Transpose",
            "Unsqueeze", "Upsample", "Shape", "Size",
        ]).union(ConstantFolder.foldable).union(TensorOps.all.flatMap(\.onnxTypes))
    ).sorted()

    /// Imports the model at `path`. `inputShape` gives the shape of a graph input whose shape the
    /// model leaves open (beyond a symbolic batch); a symbolic batch stays symbolic.
    /// The file must be a regular file (a FIFO or device is refused, never waited on).
    public static func importModel(path: String, inputShape: [Int]? = nil, inputShapes: [String: [Int]] = [:])
        throws(ONNXError) -> (Graph, ImportReport)
    {
        let data: Data
        do { data = try SafeFile.readAll(path) } catch {
            throw .io(path: path, message: error.message)
        }
        let base = PathNames.folder(of: path)
        // A model that is a symlink (the Hugging Face cache's layout) may also read data beside its target.
        let linked = SafeFile.realPath(path).map { PathNames.folder(of: $0) }
        let folder = ExternalDataFolder(folder: base.isEmpty ? "." : base, linkedFolder: linked)
        return try importModel(
            data: data, source: path, externalData: folder, inputShape: inputShape, inputShapes: inputShapes)
    }

    /// Imports a serialized ModelProto. `baseDirectory` resolves external-data files;
    /// `inputShapes` gives shapes by input name, `inputShape` for the (single) open input.
    public static func importModel(
        data: Data, source: String = "<memory>", baseDirectory: String? = nil,
        inputShape: [Int]? = nil, inputShapes: [String: [Int]] = [:]
    ) throws(ONNXError) -> (Graph, ImportReport) {
        try importModel(
            data: data, source: source, externalData: baseDirectory.map { ExternalDataFolder(folder: $0) },
            inputShape: inputShape, inputShapes: inputShapes)
    }

    static func importModel(
        data: Data, source: String, externalData: ExternalDataFolder?, inputShape: [Int]?,
        inputShapes: [String: [Int]]
    ) throws(ONNXError) -> (Graph, ImportReport) {
        var options = BinaryDecodingOptions()
        // ONNX nests graphs only inside control-flow attributes, which the importer refuses anyway;
        // a deeper nesting is a hostile file (the decoder recurses once per level).
        options.messageDepthLimit = ONNXImporter.messageDepthLimit
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data, options: options) } catch {
            throw .malformedProtobuf(path: source, message: String(describing: error))
        }
        let importer = Importer(
            source: source, externalData: externalData, inputShape: inputShape, inputShapes: inputShapes)
        return try importer.run(model)
    }
}

// MARK: - Intermediate form

enum BinaryKind: String {
    case add = "Add"
    case sub = "Sub"
    case mul = "Mul"
    case div = "Div"
}

/// A converted node before pattern rewriting; the non-`op` kinds must be rewritten away.
enum IRKind {
    case op(Op)
    case reshape([Int])
    case transpose([Int])
    case pad(begin: [Int], end: [Int], value: Float)
    /// x ∘ c (or c ∘ x when `constFirst`).
    case constBinary(BinaryKind, ConstTensor, constFirst: Bool)
}

struct IRNode {
    var name: String
    var onnxOp: String
    var kind: IRKind
    var inputs: [String]
    var outputs: [String]
    var removed = false
}

// MARK: - The importer

final class Importer {
    let source: String
    let externalData: ExternalDataFolder?
    let givenShape: [Int]?
    let givenShapes: [String: [Int]]

    var opset = 0
    var folder: ConstantFolder!
    var consts: [String: ConstTensor] = [:]
    /// Concrete shapes of run-time values (symbolic batch at `batch`).
    var shapes: [String: [Int]] = [:]
    var nodes: [IRNode] = []
    var notes: [String] = []
    var nodeNames = Set<String>()
    /// The next suffix to try for each base name (keeps unique naming linear).
    var nextNameSuffix: [String: Int] = [:]
    var noted = Set<String>()
    var tensors: [String: Tensor] = [:]
    var claimed: [ClaimKey: [String]] = [:]
    var nextTensorSuffix: [String: Int] = [:]
    var graphOutputs = Set<String>()
    /// How often each value is read by ONNX nodes or is a graph output.
    var onnxUses: [String: Int] = [:]
    var folded = 0
    /// Nodes a rewrite rule changed, with their inputs, outputs and liveness before (see `touch`).
    var touched: [Int: (inputs: [String], outputs: [String], removed: Bool)] = [:]
    var fused: [String: Int] = [:]
    /// Each ONNX Reshape's target as the file wrote it (0 copies a dimension, −1 infers one).
    var reshapeSpecs: [String: [Int]] = [:]
    /// Values carried as N×C×1×L for ONNX's N×C×L, and the copies made between them (Import1D).
    var lifted = Set<String>()
    var liftedCopies: [String: String] = [:]
    var squeezedCopies: [String: String] = [:]

    init(source: String, externalData: ExternalDataFolder?, inputShape: [Int]?, inputShapes: [String: [Int]]) {
        self.source = source; self.externalData = externalData; givenShape = inputShape; givenShapes = inputShapes
    }

    func note(_ s: String) { if noted.insert(s).inserted { notes.append(s) } }

    func run(_ model: Onnx_ModelProto) throws(ONNXError) -> (Graph, ImportReport) {
        guard model.hasGraph else { throw .invalidModel(path: source, message: "it has no graph") }
        guard let defaultOpset = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
            throw .invalidModel(path: source, message: "it imports no default-domain (ai.onnx) opset")
        }
        opset = Int(defaultOpset.version)
        guard opset >= ONNXImporter.minimumOpset else {
            throw .unsupportedOpset(domain: "", version: opset, minimum: ONNXImporter.minimumOpset)
        }
        let g = model.graph
        if !g.sparseInitializer.isEmpty {
            throw .invalidModel(
                path: source, message: "sparse initializers are not supported ('\(g.sparseInitializer[0].values.name)')"
            )
        }
        var decoded = 0
        for t in g.initializer {
            guard !t.name.isEmpty else { throw .invalidModel(path: source, message: "an initializer has no name") }
            let c = try TensorDecoder.decode(t, externalData: externalData)
            consts[t.name] = c
            decoded = ImportLimits.sum(decoded, c.count) ?? Int.max
        }
        folder = ConstantFolder(opset: opset, externalData: externalData, decodedElements: decoded)
        for n in g.node { for i in n.input where !i.isEmpty { onnxUses[i, default: 0] += 1 } }
        for o in g.output { onnxUses[o.name, default: 0] += 1; graphOutputs.insert(o.name) }

        let inputs = try readInputs(g)
        for (i, n) in try topologicalOrder(g, defined: Set(inputs.map(\.info.name)).union(consts.keys)).enumerated() {
            try process(n, index: i)
        }
        for o in g.output {
            if consts[o.name] != nil {
                throw .invalidModel(
                    path: source,
                    message: "graph output '\(o.name)' is a constant; cnnconv graphs compute their outputs from inputs")
            }
            guard shapes[o.name] != nil else {
                throw .invalidModel(path: source, message: "graph output '\(o.name)' is produced by no node")
            }
        }
        try squeezeLiftedOutputs()
        try rewrite()
        let removedDead = eliminateDeadNodes()

        var graph = Graph(name: g.name.isEmpty ? "model" : g.name)
        var metadata: [String: String] = ["onnx.opset": String(opset), "onnx.ir_version": String(model.irVersion)]
        let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        if !producer.isEmpty { metadata["onnx.producer"] = producer }
        for p in model.metadataProps { metadata["onnx.metadata." + p.key] = p.value }
        graph.metadata = metadata
        graph.inputs = inputs.map(\.info)
        graph.nodes = try nodes.filter { !$0.removed }.map { (n) throws(ONNXError) -> Node in
            guard let op = lowered(n) else { throw leftoverError(n) }
            return Node(name: n.name, op: op, inputs: n.inputs, outputs: n.outputs)
        }
        graph.outputs = g.output.map { ValueInfo(name: $0.name, shape: []) }
        try declareOutputShapes(&graph, inputs: inputs)
        do { try graph.validate(batch: inputs.first?.batch ?? 1) } catch { throw .invalidGraph(error) }

        let report = ImportReport(
            source: source, irVersion: Int(model.irVersion), opset: opset, producer: producer,
            onnxNodeCount: g.node.count, graphNodeCount: graph.nodes.count, foldedNodeCount: folded,
            fusedPatterns: fused, removedDeadNodeCount: removedDead, notes: notes)
        return (graph, report)
    }

    // MARK: Inputs

    struct InputInfo { var info: ValueInfo; var batch: Int }

    func readInputs(_ g: Onnx_GraphProto) throws(ONNXError) -> [InputInfo] {
        let runtime = g.input.filter { consts[$0.name] == nil }
        let inits = Set(g.input.map(\.name)).intersection(consts.keys)
        if !inits.isEmpty {
            note("\(inits.count) graph input(s) with an initializer (IR < 4 style) are treated as constants")
        }
        guard !runtime.isEmpty else { throw .invalidModel(path: source, message: "it has no run-time inputs") }
        var result: [InputInfo] = []
        for input in runtime {
            let name = input.name
            guard input.type.value != nil, case .tensorType(let tt)? = input.type.value else {
                throw .invalidModel(path: source, message: "input '\(name)' is not a tensor")
            }
            // Float64 inputs are read as values like any other: the executor computes in the scalar
            // it is asked for (Float32 or Float64).
            if tt.elemType != 0 && tt.elemType != ONNXDataType.float.rawValue
                && tt.elemType != ONNXDataType.double.rawValue
            {
                throw .invalidModel(
                    path: source,
                    message:
                        "input '\(name)' has element type \(ONNXDataType(rawValue: tt.elemType).map { "\($0)" } ?? String(tt.elemType)); only float32 and float64 inputs are supported"
                )
            }
            var declared: [CNNGraph.Dimension?]? = nil
            if tt.hasShape {
                declared = tt.shape.dim.map { d -> CNNGraph.Dimension? in
                    switch d.value {
                    case .dimValue(let v)?: return v > 0 ? .fixed(Int(v)) : nil
                    case .dimParam(let p)?: return .symbol(p)
                    case nil: return nil
                    }
                }
            }
            let describe =
                declared.map { "[" + $0.map { $0?.description ?? "?" }.joined(separator: ", ") + "]" } ?? "unknown"
            let given = givenShapes[name] ?? (runtime.count == 1 ? givenShape : nil)
            var shape: [CNNGraph.Dimension]
            var concrete: [Int]
            if let given {
                guard given.allSatisfy({ $0 > 0 }) else {
                    throw .inputShapeMismatch(
                        input: name, given: given,
                        message: "every dimension must be ≥ 1 (empty tensors are not supported)")
                }
                if let declared {
                    guard declared.count == given.count else {
                        throw .inputShapeMismatch(
                            input: name, given: given,
                            message: "the model declares rank \(declared.count) (\(describe))")
                    }
                    for (axis, (d, v)) in zip(declared, given).enumerated() {
                        if case .fixed(let n)? = d, n != v {
                            throw .inputShapeMismatch(
                                input: name, given: given,
                                message: "dimension \(axis) is fixed at \(n) in the model (\(describe)), not \(v)")
                        }
                    }
                }
                concrete = given
                shape = given.map { .fixed($0) }
                if let first = declared?.first,
                    first.map({ if case .fixed = $0 { return false } else { return true } }) ?? true
                {
                    shape[0] = .symbol(first?.description ?? "N")
                }
            } else {
                // A declared shape of no dimensions is a scalar (rank 0); no shape at all is unknown.
                guard let declared, tt.hasShape,
                    declared.dropFirst().allSatisfy({ if case .fixed? = $0 { return true } else { return false } })
                else {
                    // An example for the option: fixed sizes kept, the batch 1, an open image side 224.
                    let sides = (declared ?? []).enumerated().map { axis, d -> String in
                        if case .fixed(let n)? = d { return String(n) }
                        return axis == 0 ? "1" : "224"
                    }
                    let example = sides.isEmpty ? "1,3,224,224" : sides.joined(separator: ",")
                    throw .unknownInputShape(
                        input: name, declared: describe, example: runtime.count > 1 ? "\(name)=\(example)" : example)
                }
                shape = declared.enumerated().map { $0.element ?? .symbol($0.offset == 0 ? "N" : "?") }
                concrete = shape.map { if case .fixed(let n) = $0 { return n } else { return 1 } }
            }
            guard concrete.count <= ImportLimits.maxRank, concrete.allSatisfy({ $0 <= ImportLimits.maxDimension }),
                ImportLimits.elementCount(concrete) != nil
            else {
                throw .invalidModel(
                    path: source,
                    message:
                        "input '\(name)' of shape \(formatShape(concrete)) is beyond the importer's limits (rank ≤ \(ImportLimits.maxRank), sides ≤ \(ImportLimits.maxDimension), ≤ \(ImportLimits.maxElements) elements)"
                )
            }
            shapes[name] = concrete
            result.append(InputInfo(info: ValueInfo(name: name, shape: shape), batch: concrete.first ?? 1))
        }
        for name in givenShapes.keys where !runtime.contains(where: { $0.name == name }) {
            throw .inputShapeMismatch(
                input: name, given: givenShapes[name] ?? [],
                message: "the model has no such input (inputs: \(runtime.map(\.name).joined(separator: ", ")))")
        }
        if givenShape != nil && runtime.count > 1 && givenShapes.isEmpty {
            throw .inputShapeMismatch(
                input: runtime[0].name, given: givenShape ?? [],
                message: "the model has \(runtime.count) inputs; name the one meant")
        }
        return result
    }

    /// Output shapes from shape inference; a dimension that follows the batch becomes symbolic.
    func declareOutputShapes(_ graph: inout Graph, inputs: [InputInfo]) throws(ONNXError) {
        let batch = inputs.first?.batch ?? 1
        let symbolic = inputs.first.flatMap { i -> String? in
            if case .symbol(let s)? = i.info.shape.first { return s } else { return nil }
        }
        do {
            let a = try graph.inferShapes(batch: batch)
            var b = a
            if symbolic != nil {
                do { b = try graph.inferShapes(batch: batch + 1) } catch {
                    // Shapes computed at import (a Reshape to a size read from Shape) hold the
                    // import batch: the graph is valid at that batch only, so say so.
                    for i in graph.inputs.indices {
                        graph.inputs[i].shape = graph.inputs[i].shape.map {
                            if case .symbol = $0 { return .fixed(batch) } else { return $0 }
                        }
                    }
                    note(
                        "the batch is fixed at \(batch): a shape computed at import does not follow it (\(graphMessage(error)))"
                    )
                    b = try graph.inferShapes(batch: batch)
                }
            }
            for i in graph.outputs.indices {
                let name = graph.outputs[i].name
                guard let sa = a[name], let sb = b[name] else { continue }
                graph.outputs[i].shape = zip(sa, sb).map { $0 == $1 ? .fixed($0) : .symbol(symbolic ?? "N") }
            }
        } catch {
            throw .invalidGraph(error)
        }
    }

    /// The nodes in an order where every input is defined first (ONNX requires it; some
    /// writers get it wrong). Kahn's algorithm, taking the earliest ready node of the file's order
    /// first: a well-ordered graph keeps its order, and any graph sorts in O(n log n).
    func topologicalOrder(_ g: Onnx_GraphProto, defined start: Set<String>) throws(ONNXError) -> [Onnx_NodeProto] {
        let nodes = g.node
        var defined = start
        // For each value not yet defined, the nodes waiting for it; per node, how many distinct values it waits for.
        var waiting: [String: [Int]] = [:]
        var missing = [Int](repeating: 0, count: nodes.count)
        var ready = MinHeap()
        for (i, n) in nodes.enumerated() {
            var seen = Set<String>()
            for v in n.input where !v.isEmpty && !defined.contains(v) && seen.insert(v).inserted {
                waiting[v, default: []].append(i)
                missing[i] += 1
            }
            if missing[i] == 0 { ready.push(i) }
        }
        var ordered: [Onnx_NodeProto] = []
        ordered.reserveCapacity(nodes.count)
        var done = [Bool](repeating: false, count: nodes.count)
        while let i = ready.pop() {
            ordered.append(nodes[i])
            done[i] = true
            for o in nodes[i].output where !o.isEmpty && defined.insert(o).inserted {
                for j in waiting.removeValue(forKey: o) ?? [] {
                    missing[j] -= 1
                    if missing[j] == 0 { ready.push(j) }
                }
            }
        }
        if let i = done.firstIndex(of: false) {
            let n = nodes[i]
            let value = n.input.first { !$0.isEmpty && !defined.contains($0) } ?? ""
            throw .missingValue(node: n.name.isEmpty ? n.opType : n.name, opType: n.opType, value: value)
        }
        return ordered
    }

    // MARK: Per-node conversion

    /// `base`, or `base_k` with the first free k. Each base remembers where its search stopped,
    /// so n nodes sharing one name cost O(n), not O(n²).
    func uniqueNodeName(_ base: String) -> String {
        var name = base, k = nextNameSuffix[base] ?? 1
        while nodeNames.contains(name) { name = "\(base)_\(k)"; k += 1 }
        nextNameSuffix[base] = k
        nodeNames.insert(name)
        return name
    }

    /// A graph tensor for `c`. The first claim of a name keeps it; a later claim with other
    /// values (a transposed or scaled copy) gets a fresh name.
    func tensor(_ c: ConstTensor, node: String, role: String, shape: [Int]? = nil, values: [Float]? = nil) -> Tensor {
        let base = c.name ?? "\(node).\(role)"
        let t = Tensor(name: base, shape: shape ?? c.shape, values: values ?? c.floats)
        return claim(t)
    }

    /// Looks a claimed tensor up by its base name, shape and a digest of its values, so that
    /// claiming n variants of one name costs O(n) lookups, not O(n²) comparisons.
    struct ClaimKey: Hashable {
        var base: String
        var shape: [Int]
        var digest: Int
        init(_ base: String, _ t: Tensor) {
            self.base = base; shape = t.shape
            var h = Hasher()
            t.values.withUnsafeBufferPointer { h.combine(bytes: UnsafeRawBufferPointer($0)) }
            digest = h.finalize()
        }
    }

    func claim(_ t: Tensor) -> Tensor {
        var t = t
        let base = t.name
        let key = ClaimKey(base, t)
        for name in claimed[key] ?? [] {
            if let existing = tensors[name], existing.values == t.values { return existing }
        }
        var k = nextTensorSuffix[base] ?? 1
        while tensors[t.name] != nil { t.name = "\(base)_\(k)"; k += 1 }
        nextTensorSuffix[base] = k
        tensors[t.name] = t
        claimed[key, default: []].append(t.name)
        return t
    }

    func process(_ n: Onnx_NodeProto, index: Int) throws(ONNXError) {
        let op = n.opType
        let name = uniqueNodeName(n.name.isEmpty ? "\(op)_\(index)" : n.name)
        guard n.domain.isEmpty || n.domain == "ai.onnx" else {
            throw .unsupportedOp(node: name, opType: op, domain: n.domain, supported: ONNXImporter.supportedOps)
        }
        var n = n
        if try liftFor1D(&n, name: name) {
            try processLifted(n, name: name, index: index)
            if let o = n.output.first, !o.isEmpty, shapes[o]?.count == 4 { lifted.insert(o) }
            return
        }
        try processLifted(n, name: name, index: index)
    }

    /// The conversion proper of `n` (after `liftFor1D`).
    func processLifted(_ n: Onnx_NodeProto, name: String, index: Int) throws(ONNXError) {
        let op = n.opType
        let present = n.input.filter { !$0.isEmpty }
        if ConstantFolder.foldable.contains(op) && present.allSatisfy({ consts[$0] != nil }) {
            let outs = try folder.fold(n, name: name, inputs: n.input.map { $0.isEmpty ? nil : consts[$0] })
            for (o, v) in zip(n.output, outs) where !o.isEmpty {
                var v = v
                if v.name == nil || op != "Constant" { v.name = o }
                consts[o] = v
            }
            folded += 1
            return
        }
        if let definition = TensorOps.definition(onnxType: op), !present.isEmpty,
            present.allSatisfy({ consts[$0] != nil })
        {
            try ConvertNode(importer: self, node: n, name: name).foldWithDefinition(definition)
            return
        }
        if op == "Shape" || op == "Size", let x = n.input.first, let s = shapes[x] {
            let value =
                op == "Size"
                ? ConstTensor(shape: [], ints: [Int64(ShapeMath.count(s))])
                : try folder.fold(n, name: name, inputs: [ConstTensor(shape: s, ints: [])])[0]
            if let o = n.output.first { consts[o] = ConstTensor(shape: value.shape, values: value.values, name: o) }
            folded += 1
            return
        }
        if ConstantFolder.foldOnly.contains(op) && TensorOps.definition(onnxType: op) == nil {
            let runtime = present.first { consts[$0] == nil } ?? ""
            throw .unsupportedUsage(
                node: name, opType: op,
                message:
                    "\(op) is supported only on values known at import (shape arithmetic); input '\(runtime)' is computed at run time"
            )
        }
        try ConvertNode(importer: self, node: n, name: name).convert()
    }

    /// Records a converted node and the shape of its output.
    func emit(_ name: String, _ onnxOp: String, _ kind: IRKind, inputs: [String], output: String) throws(ONNXError) {
        let inShapes = inputs.map { shapes[$0] ?? [] }
        let out: [Int]
        switch kind {
        case .op(let op):
            do {
                out = try Node(name: name, op: op, inputs: inputs, outputs: [output]).inferOutputShape(inShapes)
            } catch {
                throw .unsupportedUsage(node: name, opType: onnxOp, message: graphMessage(error))
            }
        case .reshape(let t): out = t
        case .transpose(let p): out = p.map { inShapes[0][$0] }
        case .pad(let b, let e, _):
            var padded: [Int] = []
            for (d, (x, y)) in zip(inShapes[0], zip(b, e)) {
                guard let v = ImportLimits.sum(d, x, y) else {
                    throw .limitExceeded(
                        node: name, opType: onnxOp,
                        message: "padding \(formatShape(inShapes[0])) by \(b), \(e) overflows")
                }
                padded.append(v)
            }
            out = padded
        case .constBinary: out = inShapes[0]
        }
        try checkRuntimeShape(out, node: name, opType: onnxOp, what: "its output")
        shapes[output] = out
        nodes.append(IRNode(name: name, onnxOp: onnxOp, kind: kind, inputs: inputs, outputs: [output]))
    }

    /// A run-time value's shape must stay within `ImportLimits` (rank, each side, element count),
    /// so that later size arithmetic (shape inference, planning, kernels) cannot overflow.
    func checkRuntimeShape(_ shape: [Int], node: String, opType: String, what: String) throws(ONNXError) {
        guard shape.count <= ImportLimits.maxRank, shape.allSatisfy({ $0 <= ImportLimits.maxDimension }),
            ImportLimits.elementCount(shape) != nil
        else {
            throw .limitExceeded(
                node: node, opType: opType,
                message:
                    "\(what) \(formatShape(shape)) is beyond the importer's limits (rank ≤ \(ImportLimits.maxRank), sides ≤ \(ImportLimits.maxDimension), ≤ \(ImportLimits.maxElements) elements)"
            )
        }
    }

    /// A parameter the importer expands (a scalar to per-channel values, a broadcast to the
    /// normalized shape) must stay within `ImportLimits.maxFoldedElements`.
    func checkExpansion(_ count: Int, node: String, opType: String, what: String) throws(ONNXError) {
        guard count <= ImportLimits.maxFoldedElements else {
            throw .limitExceeded(
                node: node, opType: opType,
                message: "expanding the \(what) to \(count) values is beyond \(ImportLimits.maxFoldedElements)")
        }
    }

    func leftoverError(_ n: IRNode) -> ONNXError {
        let x = n.inputs.first.flatMap { shapes[$0] }.map(formatShape) ?? "?"
        switch n.kind {
        case .op:
            return .unsupportedUsage(node: n.name, opType: n.onnxOp, message: "internal: converted node left unlowered")
        case .reshape(let t):
            return .unsupportedUsage(
                node: n.name, opType: n.onnxOp,
                message:
                    "reshaping \(x) to \(formatShape(t)) is not supported; only flattening to 2-D (as Flatten does) and the Reshape–Transpose–Reshape channel shuffle are"
            )
        case .transpose(let p):
            return .unsupportedUsage(
                node: n.name, opType: n.onnxOp,
                message:
                    "transposing \(x) by \(p) is not supported; Transpose is read only as part of a Reshape–Transpose–Reshape channel shuffle"
            )
        case .pad:
            return .unsupportedUsage(
                node: n.name, opType: n.onnxOp,
                message:
                    "Pad is supported only as constant padding of H and W that feeds a Conv, AveragePool or MaxPool it can merge into (zero padding before MaxPool needs a non-negative input)"
            )
        case .constBinary(let k, let c, _):
            return .unsupportedUsage(
                node: n.name, opType: n.onnxOp,
                message:
                    "\(k.rawValue) of \(x) by a constant of shape \(formatShape(c.shape)) is not supported; only scalars and per-channel constants ([C,1,1], [1,C,1,1]) are"
            )
        }
    }
}

/// The part of a GraphError's message after its node name.
func graphMessage(_ e: GraphError) -> String {
    switch e {
    case .shapeMismatch(_, let m), .invalidAttribute(_, let m): return m
    case .badParameter(_, let t, let m): return "tensor '\(t)': \(m)"
    default: return e.description
    }
}

/// A binary min-heap of node indices (the topological sort's ready set).
struct MinHeap {
    private var items: [Int] = []

    mutating func push(_ x: Int) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[parent] > items[i] else { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
