// Graph ⇄ CNNFormat: the model, its values and the tensor table map to the wire header here;
// each op's own fields are written and read by its definition (Ops/), called from here.
import CNNFormat
import Foundation

/// An error reading or writing a graph file: the container's, or the graph's it describes.
public struct ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which layer refused the file: the container (framing, CRCs, limits) or the graph it holds.
    public enum Reason: Equatable, Sendable {
        case format(FormatError)
        case graph(GraphError)
    }
    /// The file as the user named it, so every message starts with it.
    public let path: String
    /// What was wrong, typed, so callers can tell a corrupt container from an invalid graph.
    public let reason: Reason
    /// Wraps an error with the file it came from.
    public init(path: String, reason: Reason) { self.path = path; self.reason = reason }
    /// The message the CLI prints: path, then the error, with control characters escaped.
    public var description: String {
        switch reason {
        case .format(let e): return displaySafe("\(path): \(e)")
        case .graph(let e): return displaySafe("\(path): \(e)")
        }
    }
}

extension Graph {
    /// Reads and validates the model at `path` (mmap; raw f32 tensors zero-copy).
    public init(contentsOf path: String, verifyChecksums: Bool = true, limits: SizeLimits = .standard)
        throws(ModelError)
    {
        let file: ModelFile
        do { file = try ModelFile(path: path, verifyChecksums: verifyChecksums) } catch {
            throw ModelError(path: error.path, reason: .format(error.reason))
        }
        try self.init(file: file, limits: limits)
    }

    /// Reads a model from a file image in memory.
    public init(bytes: [UInt8], path: String = "<memory>", limits: SizeLimits = .standard) throws(ModelError) {
        let file: ModelFile
        do { file = try ModelFile(bytes: bytes, path: path) } catch {
            throw ModelError(path: error.path, reason: .format(error.reason))
        }
        try self.init(file: file, limits: limits)
    }

    /// Builds the graph of an opened file and validates it (at batch 1, against `limits`).
    /// Outputs the file declares without a shape get their inferred one.
    public init(file: ModelFile, limits: SizeLimits = .standard) throws(ModelError) {
        do {
            var decoder = GraphDecoder(file: file)
            self = try decoder.decode()
        } catch let e as GraphError {
            throw ModelError(path: file.path, reason: .graph(e))
        } catch let e as ModelFileError {
            throw ModelError(path: e.path, reason: .format(e.reason))
        } catch {
            throw ModelError(path: file.path, reason: .format(.ioError(String(describing: error))))
        }
        do {
            let shapes = try validate(limits: limits)
            fillUndeclaredOutputShapes(shapes)
        } catch { throw ModelError(path: file.path, reason: .graph(error)) }
    }

    /// Gives each output declared with no shape its inferred one (symbolic in the first
    /// dimension when the first input's is), so every consumer sees a complete signature.
    mutating func fillUndeclaredOutputShapes(_ shapes: ShapeMap) {
        let batchSymbol: Dimension? = inputs.first.flatMap { v in
            if case .symbol = v.shape.first { return v.shape.first } else { return nil }
        }
        for i in outputs.indices where outputs[i].shape.isEmpty {
            let s = shapes[outputs[i].name] ?? []
            outputs[i].shape = s.enumerated().map { j, n in
                if j == 0, let batchSymbol { return batchSymbol }
                return .fixed(n)
            }
        }
    }

    /// Writes the graph atomically to `path`. The same graph always gives the same bytes.
    public func write(to path: String) throws(ModelError) {
        let (header, tensors) = try encodeForFile(path: path)
        do { try ModelFileWriter.write(header: header, tensors: tensors, to: path) } catch {
            throw ModelError(path: path, reason: .format(error.reason))
        }
    }

    /// The file image of the graph.
    public func serialized() throws(ModelError) -> [UInt8] {
        let (header, tensors) = try encodeForFile(path: "<memory>")
        do { return try ModelFileWriter.serialize(header: header, tensors: tensors) } catch {
            throw ModelError(path: "<memory>", reason: .format(error))
        }
    }

    func encodeForFile(path: String) throws(ModelError) -> (Cnnconv_V1_Model, [TensorPayload]) {
        do {
            try validateStructure()
            var encoder = GraphEncoder(graph: self)
            return try encoder.encode()
        } catch {
            throw ModelError(path: path, reason: .graph(error))
        }
    }
}

// MARK: - Encoding

/// Builds a graph's wire header and tensor payloads. Package-visible because each op's
/// definition writes its own fields through it (`OpDefinition.encode`).
package struct GraphEncoder {
    let graph: Graph
    var tensors: [TensorPayload] = []
    var byName: [String: Tensor] = [:]

    init(graph: Graph) { self.graph = graph }

    mutating func encode() throws(GraphError) -> (Cnnconv_V1_Model, [TensorPayload]) {
        var m = Cnnconv_V1_Model()
        m.name = graph.name
        m.producer = graph.producer
        m.metadata = graph.metadata
        m.inputs = graph.inputs.map(Self.valueInfo)
        m.outputs = graph.outputs.map(Self.valueInfo)
        m.appliedPasses = graph.appliedPasses
        for node in graph.nodes { m.nodes.append(try encode(node)) }
        return (m, tensors)
    }

    static func valueInfo(_ v: ValueInfo) -> Cnnconv_V1_ValueInfo {
        var out = Cnnconv_V1_ValueInfo()
        out.name = v.name
        out.dtype = .float32
        out.shape = v.shape.map { d in
            var dim = Cnnconv_V1_Dimension()
            switch d {
            case .fixed(let n): dim.size = UInt64(n)
            case .symbol(let s): dim.symbol = s
            }
            return dim
        }
        return out
    }

    /// Registers `t` for writing and returns its name; a name used twice must hold the same tensor.
    mutating func ref(_ t: Tensor?) throws(GraphError) -> String {
        guard let t else { return "" }
        if let existing = byName[t.name] {
            guard existing == t else { throw .conflictingTensor(t.name) }
            return t.name
        }
        guard !t.name.isEmpty else { throw .unsupportedInFormat("a parameter tensor has an empty name") }
        byName[t.name] = t
        tensors.append(TensorPayload(name: t.name, dims: t.shape, format: t.storage, values: t.values))
        return t.name
    }

    static func window(_ w: Window2d) -> Cnnconv_V1_Window2d {
        var o = Cnnconv_V1_Window2d()
        o.kernelH = UInt32(clamping: w.kernelH); o.kernelW = UInt32(clamping: w.kernelW)
        o.strideH = UInt32(clamping: w.strideH); o.strideW = UInt32(clamping: w.strideW)
        o.dilationH = UInt32(clamping: w.dilationH); o.dilationW = UInt32(clamping: w.dilationW)
        o.padTop = UInt32(clamping: w.padTop); o.padLeft = UInt32(clamping: w.padLeft)
        o.padBottom = UInt32(clamping: w.padBottom); o.padRight = UInt32(clamping: w.padRight)
        return o
    }

    mutating func reparameterization(_ r: WeightReparameterization?) throws(GraphError)
        -> Cnnconv_V1_WeightReparameterization?
    {
        guard let r else { return nil }
        var o = Cnnconv_V1_WeightReparameterization()
        switch r {
        case .weightNorm(let g):
            var wn = Cnnconv_V1_WeightNorm()
            wn.gain = try ref(g)
            o.weightNorm = wn
        case .weightStandardization(let eps):
            var ws = Cnnconv_V1_WeightStandardization()
            ws.epsilon = eps
            o.weightStandardization = ws
        }
        return o
    }

    mutating func encode(_ node: Node) throws(GraphError) -> Cnnconv_V1_Node {
        var n = Cnnconv_V1_Node()
        n.name = node.name
        n.inputs = node.inputs
        n.outputs = node.outputs
        try node.op.definition.encode(into: &n, &self)
        return n
    }
}

// MARK: - Decoding

struct GraphDecoder {
    let file: ModelFile
    var cache: [String: Tensor] = [:]
    var used = Set<String>()

    init(file: ModelFile) { self.file = file }

    mutating func decode() throws -> Graph {
        let m = file.header
        var g = Graph(name: m.name, producer: m.producer, metadata: m.metadata, appliedPasses: m.appliedPasses)
        g.inputs = try m.inputs.map(valueInfo)
        g.outputs = try m.outputs.map(valueInfo)
        for n in m.nodes { g.nodes.append(try decode(n)) }
        let unused = m.tensors.map(\.name).filter { !used.contains($0) }
        if !unused.isEmpty { throw GraphError.unreferencedTensors(unused) }
        return g
    }

    func valueInfo(_ v: Cnnconv_V1_ValueInfo) throws -> ValueInfo {
        guard v.dtype == .float32 || v.dtype == .unspecified else {
            throw GraphError.unsupportedInFormat("value '\(v.name)' has data type \(v.dtype); graph values are f32")
        }
        return ValueInfo(
            name: v.name,
            shape: v.shape.map { d in
                switch d.value {
                case .size(let n)?: return .fixed(Int(clamping: n))
                case .symbol(let s)?: return .symbol(s)
                case nil: return .symbol("?")
                }
            })
    }

    mutating func tensor(_ name: String, node: String, role: String) throws -> Tensor {
        if let t = cache[name] { return t }
        guard let entry = file.entry(named: name) else {
            throw GraphError.missingTensor(node: node, role: role, tensor: name)
        }
        let values = try file.values(of: name)
        var dims: [Int] = []
        for d in entry.dims {
            guard let n = Int(exactly: d) else {
                throw GraphError.badParameter(
                    node: node, tensor: name, message: "dimension \(d) is past what a 64-bit count holds")
            }
            dims.append(n)
        }
        guard checkedElementCount(dims) == values.count else {
            throw GraphError.badParameter(
                node: node, tensor: name, message: "dims \(entry.dims) do not match its \(values.count) values")
        }
        let t = Tensor(name: name, shape: dims, buffer: values, storage: file.storageFormat(of: entry))
        cache[name] = t
        used.insert(name)
        return t
    }

    mutating func optionalTensor(_ name: String, node: String, role: String) throws -> Tensor? {
        name.isEmpty ? nil : try tensor(name, node: node, role: role)
    }

    static func window(_ w: Cnnconv_V1_Window2d) -> Window2d {
        Window2d(
            kernel: (Int(w.kernelH), Int(w.kernelW)), stride: (Int(w.strideH), Int(w.strideW)),
            dilation: (Int(w.dilationH), Int(w.dilationW)),
            padding: (Int(w.padTop), Int(w.padLeft), Int(w.padBottom), Int(w.padRight)))
    }

    mutating func reparameterization(_ has: Bool, _ r: Cnnconv_V1_WeightReparameterization, node: String) throws
        -> WeightReparameterization?
    {
        guard has else { return nil }
        switch r.kind {
        case .weightNorm(let wn)?: return .weightNorm(gain: try tensor(wn.gain, node: node, role: "weight-norm gain"))
        case .weightStandardization(let ws)?: return .weightStandardization(epsilon: ws.epsilon)
        case nil: return nil
        }
    }

    /// `value`, unless it is a number the schema's enum does not define (protobuf keeps those
    /// as `.UNRECOGNIZED(n)`; read as a default they would silently run another op).
    func known<E: RawRepresentable & CaseIterable & Equatable>(_ value: E, _ node: String, _ field: String) throws -> E
    where E.RawValue == Int {
        guard E.allCases.contains(value) else {
            throw GraphError.unknownEnumValue(node: node, field: field, value: value.rawValue)
        }
        return value
    }

    mutating func decode(_ n: Cnnconv_V1_Node) throws -> Node {
        let name = n.name
        let op: Op
        // One line per stored op, each decoded by its definition (Ops/); exhaustive, so that a
        // field added to the schema cannot be skipped.
        switch n.op {
        case .conv2D(let m)?: op = try Conv2d.decode(m, node: name, &self)
        case .convTranspose2D(let m)?: op = try ConvTranspose2d.decode(m, node: name, &self)
        case .batchNorm(let m)?: op = try BatchNorm.decode(m, node: name, &self)
        case .dropout(let m)?: op = try Dropout.decode(m, node: name, &self)
        case .linear(let m)?: op = try Linear.decode(m, node: name, &self)
        case .relu(let m)?: op = Activation.decode(m)
        case .clip(let m)?: op = Activation.decode(m)
        case .leakyRelu(let m)?: op = Activation.decode(m)
        case .sigmoid(let m)?: op = Activation.decode(m)
        case .tanh(let m)?: op = Activation.decode(m)
        case .hardSigmoid(let m)?: op = Activation.decode(m)
        case .hardSwish(let m)?: op = Activation.decode(m)
        case .silu(let m)?: op = Activation.decode(m)
        case .identity(let m)?: op = IdentityDefinition.decode(m)
        case .pool2D(let m)?: op = try Pool2d.decode(m, node: name, &self)
        case .globalPool(let m)?: op = try GlobalPoolDefinition.decode(m, node: name, &self)
        case .flatten(let m)?: op = FlattenDefinition.decode(m)
        case .add(let m)?: op = AddDefinition.decode(m)
        case .mul(let m)?: op = MulDefinition.decode(m)
        case .concat(let m)?: op = ConcatDefinition.decode(m)
        case .softmax(let m)?: op = SoftmaxDefinition.decode(m)
        case .affine(let m)?: op = try Affine.decode(m, node: name, &self)
        case .layerNorm(let m)?: op = try LayerNorm.decode(m, node: name, &self)
        case .groupNorm(let m)?: op = try GroupNorm.decode(m, node: name, &self)
        case .instanceNorm(let m)?: op = try InstanceNorm.decode(m, node: name, &self)
        case .lrn(let m)?: op = LRN.decode(m)
        case .channelShuffle(let m)?: op = ChannelShuffleDefinition.decode(m)
        case .resize(let m)?: op = try Resize.decode(m, node: name, &self)
        case .tensorOp(let t)?: op = .tensor(try decode(t, node: name))
        case nil:
            throw GraphError.unsupportedInFormat(
                "node '\(name)' has an op this reader does not know — the file needs a newer cnnconv")
        }
        return Node(name: name, op: op, inputs: n.inputs, outputs: n.outputs)
    }
}
