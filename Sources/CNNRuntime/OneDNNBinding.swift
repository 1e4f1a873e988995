// The executor's binding of Float32 Conv2d nodes to oneDNN (CNNKernels/OneDNNConv.swift): which
// convolutions go there (`ConvBackend.current` at plan time); the BatchNorm (eval mode) and
// ReLU/Clip after a conv that run inside its primitive as post-ops when nothing else reads the
// values between them, likewise a residual Add (sum post-op, into its other operand's buffer) and
// a depthwise conv after a 1×1 one (dw post-op); and which values stay in oneDNN's layout
// (nChw16c with AVX-512, nChw8c with AVX2: `OneDNNConvolution.preferredLayout`) between such
// convolutions, through the layout-blind
// element-wise ops (Add, activations), so no reorder runs there. Train mode runs the same nodes
// unfused through the native kernels, all NCHW (the element-wise ops do not care which layout
// they see, as long as both operands of an Add share it).
import CNNGraph
import CNNKernels

#if canImport(Glibc)
    import Glibc
#endif

private let oneDNNResidualFusion: Bool = getenv("CNNCONV_ONEDNN_RESIDUAL").map { String(cString: $0) != "0" } ?? true
private let oneDNNDepthwiseFusion: Bool = getenv("CNNCONV_ONEDNN_DW").map { String(cString: $0) != "0" } ?? true

/// A Conv2d node run by oneDNN and the nodes fused into it (`first...last`).
struct OneDNNChain {
    let first: Int, last: Int
    let conv: Conv2d
    let geometry: ConvGeometry
    let epilogue: ConvEpilogue
    /// With a fused residual Add: the Add's other operand, whose buffer the chain's output takes
    /// over (the plan places them together) so oneDNN's sum post-op adds it.
    var residual: String? = nil
    /// A depthwise conv (with its BatchNorm and ReLU/Clip) after this 1×1 conv, run in its primitive.
    var depthwise: (conv: Conv2d, geometry: ConvGeometry, epilogue: ConvEpilogue)? = nil
}

extension Executor {
    /// The oneDNN chain starting at node `i`, or nil when it stays with the native kernels
    /// (not Float, not a conv, or the backend says so).
    /// `lastReader`: each value's last reading node.
    func oneDNNChain(_ i: Int, pinned: Set<String>, consumers: [String: Int], lastReader: [String: Int])
        throws(KernelError) -> OneDNNChain?
    {
        let nodes = graph.nodes
        guard Scalar.self == Float.self, case .conv2d(let c) = nodes[i].op, let xs = shapes[nodes[i].inputs[0]] else {
            return nil
        }
        let g = try convGeometry(c, xs)
        guard ConvBackend.current.usesOneDNN(g) else { return nil }
        /// Whether node `j + 1` reads node `j`'s single output and nothing else does.
        func feedsOnlyNext(_ j: Int) -> Bool {
            guard !retainsAllValues, j + 1 < nodes.count, nodes[j].outputs.count == 1 else { return false }
            let out = nodes[j].output
            return !pinned.contains(out) && consumers[out] == 1 && nodes[j + 1].inputs == [out]
        }
        var last = i
        /// The ReLU or Clip at node `j + 1` that alone reads node `j`, in oneDNN's terms.
        func fusableActivation(after j: Int) -> CNNKernels.Activation? {
            guard feedsOnlyNext(j), case .activation(let a) = nodes[j + 1].op else { return nil }
            let k = kernelActivation(a)
            if case .clip(let lo, let hi) = k { return lo <= hi ? k : nil }
            return ConvEpilogue.supports(k) ? k : nil
        }
        /// The BatchNorm and activation after the conv ending at `last` (advanced past them).
        func fusedEpilogue(channels: Int) -> ConvEpilogue {
            var epilogue = ConvEpilogue()
            if feedsOnlyNext(last), case .batchNorm(let bn) = nodes[last + 1].op {
                let a = Self.batchNormAffine(bn, channels: channels)
                epilogue.affine = (a.centre.map { Float($0) }, a.factor.map { Float($0) }, a.shift.map { Float($0) })
                last += 1
            }
            if let k = fusableActivation(after: last) {
                epilogue.activation = k
                last += 1
            }
            return epilogue
        }
        var epilogue = fusedEpilogue(channels: g.outChannels)
        // MobileNet's expand → depthwise pair: the depthwise conv that alone reads this 1×1 conv's
        // result runs inside its primitive (oneDNN's dw post-op).
        if Self.fusesDepthwise, feedsOnlyNext(last), case .conv2d(let dc) = nodes[last + 1].op,
            let dxs = shapes[nodes[last + 1].inputs[0]], let dg = try? convGeometry(dc, dxs),
            FusedDepthwise.fits(g, dg), ConvBackend.current.usesOneDNN(dg)
        {
            last += 1
            let dwEpilogue = fusedEpilogue(channels: dg.outChannels)
            return OneDNNChain(
                first: i, last: last, conv: c, geometry: g, epilogue: epilogue, depthwise: (dc, dg, dwEpilogue))
        }
        // A residual Add of this result and a value that nothing reads afterwards (ResNet's and
        // MobileNetV2's skip connections): the sum post-op, then a ReLU/Clip after the Add.
        var residual: String?
        if let operand = residualOperand(after: last, pinned: pinned, consumers: consumers, lastReader: lastReader),
            operand != nodes[i].inputs[0]
        {
            residual = operand
            epilogue.residual = true
            last += 1
            if let k = fusableActivation(after: last) {
                epilogue.activationAfterResidual = k
                last += 1
            }
        }
        return OneDNNChain(first: i, last: last, conv: c, geometry: g, epilogue: epilogue, residual: residual)
    }

    /// The other operand of the two-input Add at node `j + 1` when that Add alone reads node
    /// `j`'s output (once), the operand has the Add's shape, the Add is its last reader and it is
    /// no graph input or output (so its buffer can be overwritten); else nil. Off under
    /// `CNNCONV_ONEDNN_RESIDUAL=0` (to measure the unfused Add).
    func residualOperand(after j: Int, pinned: Set<String>, consumers: [String: Int], lastReader: [String: Int])
        -> String?
    {
        let nodes = graph.nodes
        guard Self.fusesResidualAdd, !retainsAllValues, j + 1 < nodes.count, nodes[j].outputs.count == 1,
            case .add = nodes[j + 1].op, nodes[j + 1].inputs.count == 2, nodes[j + 1].outputs.count == 1
        else { return nil }
        let out = nodes[j].output, add = nodes[j + 1]
        guard !pinned.contains(out), consumers[out] == 1, add.inputs.count(where: { $0 == out }) == 1,
            let operand = add.inputs.first(where: { $0 != out }), !pinned.contains(operand),
            lastReader[operand] == j + 1, let shape = shapes[add.output], shapes[operand] == shape, shapes[out] == shape
        else { return nil }
        return operand
    }

    /// Whether oneDNN chains take in a following residual Add (`CNNCONV_ONEDNN_RESIDUAL=0` turns it off).
    static var fusesResidualAdd: Bool { oneDNNResidualFusion }
    /// Whether a 1×1 conv's chain takes in the depthwise conv after it (`CNNCONV_ONEDNN_DW=0` turns it off).
    static var fusesDepthwise: Bool { oneDNNDepthwiseFusion }

    /// The values kept in `layout`: outputs of oneDNN chains and of element-wise nodes over such
    /// values, when every reader is a oneDNN chain or such an element-wise node, no value is
    /// pinned, and the channels fill the layout's blocks exactly.
    func oneDNNLayoutValues(_ chains: [Int: OneDNNChain], pinned: Set<String>, layout: TensorLayout?) -> Set<String> {
        // Retained values are read back as NCHW (`value(named:)`, per-layer verification).
        guard let layout, layout != .nchw, !retainsAllValues else { return [] }
        let nodes = graph.nodes
        var chainOutput: [String: Int] = [:], chainInput: [String: [Int]] = [:]
        // A fused residual operand shares its buffer with the chain's output: both keep one layout.
        // (A value can be both: a block's output is the next block's operand.)
        var partners: [String: [String]] = [:]
        for chain in chains.values {
            chainOutput[nodes[chain.last].output] = chain.first
            chainInput[nodes[chain.first].inputs[0], default: []].append(chain.first)
            if let operand = chain.residual {
                partners[operand, default: []].append(nodes[chain.last].output)
                partners[nodes[chain.last].output, default: []].append(operand)
            }
        }
        /// Element-wise nodes that see only their operands' elements, not their layout.
        func layoutBlind(_ node: Node) -> Bool {
            guard node.outputs.count == 1, let out = shapes[node.output] else { return false }
            switch node.op {
            case .add: return node.inputs.count >= 1 && node.inputs.allSatisfy { shapes[$0] == out }
            case .activation: return node.inputs.count == 1
            default: return false
            }
        }
        var inChain = Set<Int>()
        for chain in chains.values { inChain.formUnion(chain.first...chain.last) }
        var readers: [String: [Int]] = [:]
        for (i, node) in nodes.enumerated() where !inChain.contains(i) || chains[i] != nil {
            for v in Set(node.inputs) { readers[v, default: []].append(i) }
        }
        var blind = Set<Int>()
        var set = Set(chainOutput.keys)
        for (i, node) in nodes.enumerated() where !inChain.contains(i) && layoutBlind(node) {
            blind.insert(i)
            set.insert(node.output)
        }
        set.subtract(pinned)
        set = set.filter { v in shapes[v].map { $0.count == 4 && $0[1] % layout.channelBlock == 0 } == true }
        // Shrink to a fixed point: a value leaves when a reader cannot take NHWC, or when it is
        // an element-wise output with an operand that is not NHWC.
        var changed = true
        while changed {
            changed = false
            for v in set {
                let ok = (readers[v] ?? []).allSatisfy { r in
                    if let chain = chains[r] {
                        return nodes[chain.first].inputs[0] == v && nodes[r].inputs.count(where: { $0 == v }) == 1
                    }
                    return blind.contains(r) && set.contains(nodes[r].output)
                }
                let producerOK =
                    chainOutput[v] != nil
                    || nodes.firstIndex(where: { $0.outputs.contains(v) }).map { p in
                        blind.contains(p) && nodes[p].inputs.allSatisfy(set.contains)
                    } == true
                let partnerOK = (partners[v] ?? []).allSatisfy(set.contains)
                if !ok || !producerOK || !partnerOK {
                    set.remove(v)
                    changed = true
                }
            }
        }
        return set
    }

    /// The step running `chain` through oneDNN, reading `x` and writing `y` in the given layouts.
    func oneDNNStep(
        _ chain: OneDNNChain, x xScalar: UnsafePointer<Scalar>, inputLayout: TensorLayout,
        y yScalar: UnsafeMutablePointer<Scalar>, outputLayout: TensorLayout,
        pointers: [String: UnsafeMutablePointer<Scalar>]
    ) throws(OneDNNError) -> (RunState) throws -> Void {
        let c = chain.conv
        /// A conv's weight as used (reparameterization applied) and bias, in Float.
        func parameters(_ c: Conv2d) -> (weight: [Float], bias: [Float]?) {
            (
                WeightReparameterization.effectiveWeight(c.weight, c.reparameterization).map { Float($0) },
                c.bias.map { Parameters.doubles($0).map { Float($0) } }
            )
        }
        let (weight, bias) = parameters(c)
        let x = UnsafeRawPointer(xScalar).assumingMemoryBound(to: Float.self)
        let y = UnsafeMutableRawPointer(yScalar).assumingMemoryBound(to: Float.self)
        let depthwise = chain.depthwise.map { d in
            let p = parameters(d.conv)
            return FusedDepthwise(d.geometry, weight: p.weight, bias: p.bias, epilogue: d.epilogue)
        }
        let conv = try OneDNNConvolution(
            chain.geometry, input: x, inputLayout: inputLayout, weight: weight, bias: bias,
            output: y, outputLayout: outputLayout, epilogue: chain.epilogue, depthwise: depthwise, threads: threads)
        memory.account(conv.byteCount)
        let range = chain.first...chain.last
        // The residual sum adds what the output buffer holds: the plan gives the output the
        // operand's buffer; where it could not (a graph output), the operand is copied there first.
        var residualCopy: (from: UnsafePointer<Scalar>, count: Int)?
        if let r = chain.residual, let operand = pointers[r], operand != yScalar {
            residualCopy = (UnsafePointer(operand), chain.geometry.output.count)
        }
        // Train mode: the nodes one by one (BatchNorm on batch statistics), made on first use.
        var unfused: [(RunState) throws -> Void]?
        return { [unowned self] state in
            guard state.mode == .train else {
                if let (from, count) = residualCopy { yScalar.update(from: from, count: count) }
                try conv(threads: KernelThreads.count)
                return
            }
            if unfused == nil { unfused = try self.unfusedSteps(range, pointers: pointers) }
            for step in unfused ?? [] { try step(state) }
        }
    }

    /// The native steps of nodes `range` (each through `makeStep`).
    func unfusedSteps(_ range: ClosedRange<Int>, pointers: [String: UnsafeMutablePointer<Scalar>]) throws(KernelError)
        -> [(RunState) throws -> Void]
    {
        var bodies: [(RunState) throws -> Void] = []
        for node in graph.nodes[range] {
            guard let y = pointers[node.output], let outShape = shapes[node.output] else { continue }
            let ins = node.inputs.compactMap { pointers[$0].map { UnsafePointer<Scalar>($0) } }
            let inShapes = node.inputs.compactMap { shapes[$0] }
            let (body, scratch) = try makeStep(node, ins, inShapes, y, outShape)
            _ = workspace.buffer(scratch, of: Scalar.self)
            bodies.append(body)
        }
        return bodies
    }
}
