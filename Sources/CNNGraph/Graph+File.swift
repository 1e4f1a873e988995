// Graph ⇄ CNNFormat: the only place that maps the typed graph to the wire header and back.
import CNNFormat
import Foundation

/// An error reading or writing a graph file: the container's, or the graph's it describes.
public struct ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case format(FormatError)
        case graph(GraphError)
    }
    public let path: String
    public let reason: Reason
    public init(path: String, reason: Reason) { self.path = path; self.reason = reason }
    public var description: String {
        switch reason {
        case .format(let e): return displaySafe("\(path): \(e)")
        case .graph(let e): return displaySafe("\(path): \(e)")
        }
    }
}

extension Graph {
    /// Reads and validates the model at `path` (mmap; raw f32 tensors zero-copy).
    public init(contentsOf path: String, verifyChecksums: Bool = true, limits: SizeLimits = .standard) throws(ModelError) {
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

struct GraphEncoder {
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

    mutating func reparameterization(_ r: WeightReparameterization?) throws(GraphError) -> Cnnconv_V1_WeightReparameterization? {
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
        switch node.op {
        case .conv2d(let c):
            var o = Cnnconv_V1_Conv2d()
            o.weight = try ref(c.weight); o.bias = try ref(c.bias)
            o.window = Self.window(c.window); o.groups = UInt32(clamping: c.groups)
            if let r = try reparameterization(c.reparameterization) { o.reparameterization = r }
            n.conv2D = o
        case .convTranspose2d(let c):
            var o = Cnnconv_V1_ConvTranspose2d()
            o.weight = try ref(c.weight); o.bias = try ref(c.bias)
            o.window = Self.window(c.window); o.groups = UInt32(clamping: c.groups)
            o.outputPaddingH = UInt32(clamping: c.outputPadding.h); o.outputPaddingW = UInt32(clamping: c.outputPadding.w)
            n.convTranspose2D = o
        case .batchNorm(let b):
            var o = Cnnconv_V1_BatchNorm()
            o.scale = try ref(b.scale); o.bias = try ref(b.bias)
            o.runningMean = try ref(b.runningMean); o.runningVariance = try ref(b.runningVariance)
            o.epsilon = b.epsilon; o.momentum = b.momentum; o.affine = b.affine; o.numBatchesTracked = b.numBatchesTracked
            n.batchNorm = o
        case .dropout(let d):
            var o = Cnnconv_V1_Dropout()
            o.rate = d.rate
            o.convention = d.convention == .classic ? .classic : .inverted
            o.granularity = d.granularity == .channel ? .channel : .element
            n.dropout = o
        case .linear(let l):
            var o = Cnnconv_V1_Linear()
            o.weight = try ref(l.weight); o.bias = try ref(l.bias)
            if let r = try reparameterization(l.reparameterization) { o.reparameterization = r }
            n.linear = o
        case .activation(let a):
            switch a {
            case .relu: n.relu = .init()
            case .clip(let lo, let hi): var o = Cnnconv_V1_Clip(); o.min = lo; o.max = hi; n.clip = o
            case .leakyRelu(let alpha): var o = Cnnconv_V1_LeakyRelu(); o.alpha = alpha; n.leakyRelu = o
            case .sigmoid: n.sigmoid = .init()
            case .tanh: n.tanh = .init()
            case .hardSigmoid(let alpha, let beta): var o = Cnnconv_V1_HardSigmoid(); o.alpha = alpha; o.beta = beta; n.hardSigmoid = o
            case .hardSwish: n.hardSwish = .init()
            case .silu: n.silu = .init()
            }
        case .identity: n.identity = .init()
        case .pool2d(let p):
            var o = Cnnconv_V1_Pool2d()
            o.kind = p.kind == .max ? .max : .average
            o.window = Self.window(p.window); o.ceilMode = p.ceilMode; o.countIncludePad = p.countIncludePad
            n.pool2D = o
        case .globalPool(let k): var o = Cnnconv_V1_GlobalPool(); o.kind = k == .max ? .max : .average; n.globalPool = o
        case .flatten(let axis): var o = Cnnconv_V1_Flatten(); o.axis = Int32(clamping: axis); n.flatten = o
        case .add: n.add = .init()
        case .mul: n.mul = .init()
        case .concat(let axis): var o = Cnnconv_V1_Concat(); o.axis = Int32(clamping: axis); n.concat = o
        case .softmax(let axis): var o = Cnnconv_V1_Softmax(); o.axis = Int32(clamping: axis); n.softmax = o
        case .affine(let a):
            var o = Cnnconv_V1_Affine(); o.scale = try ref(a.scale); o.shift = try ref(a.shift); n.affine = o
        case .layerNorm(let l):
            var o = Cnnconv_V1_LayerNorm()
            o.scale = try ref(l.scale); o.bias = try ref(l.bias); o.epsilon = l.epsilon; o.axis = Int32(clamping: l.axis)
            n.layerNorm = o
        case .groupNorm(let g):
            var o = Cnnconv_V1_GroupNorm()
            o.numGroups = UInt32(clamping: g.groups); o.scale = try ref(g.scale); o.bias = try ref(g.bias); o.epsilon = g.epsilon
            n.groupNorm = o
        case .instanceNorm(let i):
            var o = Cnnconv_V1_InstanceNorm()
            o.scale = try ref(i.scale); o.bias = try ref(i.bias); o.epsilon = i.epsilon
            n.instanceNorm = o
        case .lrn(let l):
            var o = Cnnconv_V1_Lrn(); o.size = UInt32(clamping: l.size); o.alpha = l.alpha; o.beta = l.beta; o.bias = l.bias
            n.lrn = o
        case .channelShuffle(let g): var o = Cnnconv_V1_ChannelShuffle(); o.groups = UInt32(clamping: g); n.channelShuffle = o
        case .resize(let r):
            var o = Cnnconv_V1_Resize()
            o.mode = r.mode == .nearest ? .nearest : .bilinear
            o.scaleH = r.scaleH; o.scaleW = r.scaleW
            switch r.coordinateTransform {
            case .halfPixel: o.coordinateTransform = .halfPixel
            case .asymmetric: o.coordinateTransform = .asymmetric
            case .alignCorners: o.coordinateTransform = .alignCorners
            case .pytorchHalfPixel: o.coordinateTransform = .pytorchHalfPixel
            }
            switch r.nearestRounding {
            case .floor: o.nearestRounding = .floor
            case .roundPreferFloor: o.nearestRounding = .roundPreferFloor
            case .roundPreferCeil: o.nearestRounding = .roundPreferCeil
            case .ceil: o.nearestRounding = .ceil
            }
            n.resize = o
        case .tensor(let t): n.tensorOp = try encode(t)
        }
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
        return ValueInfo(name: v.name, shape: v.shape.map { d in
            switch d.value {
            case .size(let n)?: return .fixed(Int(clamping: n))
            case .symbol(let s)?: return .symbol(s)
            case nil: return .symbol("?")
            }
        })
    }

    mutating func tensor(_ name: String, node: String, role: String) throws -> Tensor {
        if let t = cache[name] { return t }
        guard let entry = file.entry(named: name) else { throw GraphError.missingTensor(node: node, role: role, tensor: name) }
        let values = try file.values(of: name)
        var dims: [Int] = []
        for d in entry.dims {
            guard let n = Int(exactly: d) else {
                throw GraphError.badParameter(node: node, tensor: name, message: "dimension \(d) is past what a 64-bit count holds")
            }
            dims.append(n)
        }
        guard checkedElementCount(dims) == values.count else {
            throw GraphError.badParameter(node: node, tensor: name, message: "dims \(entry.dims) do not match its \(values.count) values")
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
        Window2d(kernel: (Int(w.kernelH), Int(w.kernelW)), stride: (Int(w.strideH), Int(w.strideW)),
                 dilation: (Int(w.dilationH), Int(w.dilationW)),
                 padding: (Int(w.padTop), Int(w.padLeft), Int(w.padBottom), Int(w.padRight)))
    }

    mutating func reparameterization(_ has: Bool, _ r: Cnnconv_V1_WeightReparameterization, node: String) throws -> WeightReparameterization? {
        guard has else { return nil }
        switch r.kind {
        case .weightNorm(let wn)?: return .weightNorm(gain: try tensor(wn.gain, node: node, role: "weight-norm gain"))
        case .weightStandardization(let ws)?: return .weightStandardization(epsilon: ws.epsilon)
        case nil: return nil
        }
    }

    /// `value`, unless it is a number the schema's enum does not define (protobuf keeps those
    /// as `.UNRECOGNIZED(n)`; read as a default they would silently run another op).
    func known<E: RawRepresentable & CaseIterable & Equatable>(_ value: E, _ node: String, _ field: String) throws -> E where E.RawValue == Int {
        guard E.allCases.contains(value) else { throw GraphError.unknownEnumValue(node: node, field: field, value: value.rawValue) }
        return value
    }

    mutating func decode(_ n: Cnnconv_V1_Node) throws -> Node {
        let name = n.name
        let op: Op
        switch n.op {
        case .conv2D(let c)?:
            op = .conv2d(Conv2d(weight: try tensor(c.weight, node: name, role: "weight"),
                                bias: try optionalTensor(c.bias, node: name, role: "bias"),
                                window: Self.window(c.window), groups: Int(c.groups),
                                reparameterization: try reparameterization(c.hasReparameterization, c.reparameterization, node: name)))
        case .convTranspose2D(let c)?:
            op = .convTranspose2d(ConvTranspose2d(weight: try tensor(c.weight, node: name, role: "weight"),
                                                  bias: try optionalTensor(c.bias, node: name, role: "bias"),
                                                  window: Self.window(c.window), groups: Int(c.groups),
                                                  outputPadding: (Int(c.outputPaddingH), Int(c.outputPaddingW))))
        case .batchNorm(let b)?:
            op = .batchNorm(BatchNorm(scale: b.affine ? try tensor(b.scale, node: name, role: "scale") : nil,
                                      bias: b.affine ? try tensor(b.bias, node: name, role: "bias") : nil,
                                      runningMean: try tensor(b.runningMean, node: name, role: "running mean"),
                                      runningVariance: try tensor(b.runningVariance, node: name, role: "running variance"),
                                      epsilon: b.epsilon, momentum: b.momentum, numBatchesTracked: b.numBatchesTracked))
        case .dropout(let d)?:
            op = .dropout(Dropout(rate: d.rate, convention: try known(d.convention, name, "dropout.convention") == .classic ? .classic : .inverted,
                                  granularity: try known(d.granularity, name, "dropout.granularity") == .channel ? .channel : .element))
        case .linear(let l)?:
            op = .linear(Linear(weight: try tensor(l.weight, node: name, role: "weight"),
                                bias: try optionalTensor(l.bias, node: name, role: "bias"),
                                reparameterization: try reparameterization(l.hasReparameterization, l.reparameterization, node: name)))
        case .relu?: op = .activation(.relu)
        case .clip(let c)?: op = .activation(.clip(min: c.min, max: c.max))
        case .leakyRelu(let l)?: op = .activation(.leakyRelu(alpha: l.alpha))
        case .sigmoid?: op = .activation(.sigmoid)
        case .tanh?: op = .activation(.tanh)
        case .hardSigmoid(let h)?: op = .activation(.hardSigmoid(alpha: h.alpha, beta: h.beta))
        case .hardSwish?: op = .activation(.hardSwish)
        case .silu?: op = .activation(.silu)
        case .identity?: op = .identity
        case .pool2D(let p)?:
            op = .pool2d(Pool2d(kind: try known(p.kind, name, "pool2d.kind") == .average ? .average : .max, window: Self.window(p.window),
                                ceilMode: p.ceilMode, countIncludePad: p.countIncludePad))
        case .globalPool(let p)?: op = .globalPool(try known(p.kind, name, "global_pool.kind") == .average ? .average : .max)
        case .flatten(let f)?: op = .flatten(axis: Int(f.axis))
        case .add?: op = .add
        case .mul?: op = .mul
        case .concat(let c)?: op = .concat(axis: Int(c.axis))
        case .softmax(let s)?: op = .softmax(axis: Int(s.axis))
        case .affine(let a)?:
            op = .affine(Affine(scale: try tensor(a.scale, node: name, role: "scale"), shift: try tensor(a.shift, node: name, role: "shift")))
        case .layerNorm(let l)?:
            op = .layerNorm(LayerNorm(scale: try optionalTensor(l.scale, node: name, role: "scale"),
                                      bias: try optionalTensor(l.bias, node: name, role: "bias"), epsilon: l.epsilon, axis: Int(l.axis)))
        case .groupNorm(let g)?:
            op = .groupNorm(GroupNorm(groups: Int(g.numGroups), scale: try optionalTensor(g.scale, node: name, role: "scale"),
                                      bias: try optionalTensor(g.bias, node: name, role: "bias"), epsilon: g.epsilon))
        case .instanceNorm(let i)?:
            op = .instanceNorm(InstanceNorm(scale: try optionalTensor(i.scale, node: name, role: "scale"),
                                            bias: try optionalTensor(i.bias, node: name, role: "bias"), epsilon: i.epsilon))
        case .lrn(let l)?: op = .lrn(LRN(size: Int(l.size), alpha: l.alpha, beta: l.beta, bias: l.bias))
        case .channelShuffle(let c)?: op = .channelShuffle(groups: Int(c.groups))
        case .resize(let r)?:
            let transform: Resize.CoordinateTransform
            switch try known(r.coordinateTransform, name, "resize.coordinate_transform") {
            case .asymmetric: transform = .asymmetric
            case .alignCorners: transform = .alignCorners
            case .pytorchHalfPixel: transform = .pytorchHalfPixel
            default: transform = .halfPixel
            }
            let rounding: Resize.NearestRounding
            switch try known(r.nearestRounding, name, "resize.nearest_rounding") {
            case .floor: rounding = .floor
            case .roundPreferCeil: rounding = .roundPreferCeil
            case .ceil: rounding = .ceil
            default: rounding = .roundPreferFloor
            }
            op = .resize(Resize(mode: try known(r.mode, name, "resize.mode") == .bilinear ? .bilinear : .nearest, scaleH: r.scaleH, scaleW: r.scaleW,
                                coordinateTransform: transform, nearestRounding: rounding))
        case .tensorOp(let t)?: op = .tensor(try decode(t, node: name))
        case nil:
            throw GraphError.unsupportedInFormat("node '\(name)' has an op this reader does not know — the file needs a newer cnnconv")
        }
        return Node(name: name, op: op, inputs: n.inputs, outputs: n.outputs)
    }
}
