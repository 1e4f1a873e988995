// The executor's binding of Float32 Conv2d nodes to oneDNN (CNNKernels/OneDNNConv.swift): which
// convolutions go there (`ConvBackend.current` at plan time); the BatchNorm (eval mode) and
// ReLU/Clip after a conv that run inside its primitive as post-ops when nothing else reads the
// values between them; and which values stay in oneDNN's layout (NHWC with AVX-512, nChw8c with
// AVX2: `OneDNNConvolution.preferredLayout`) between such convolutions, through the layout-blind
// element-wise ops (Add, activations), so no reorder runs there. Train mode runs the same nodes
// unfused through the native kernels, all NCHW (the element-wise ops do not care which layout
// they see, as long as both operands of an Add share it).
import CNNGraph
import CNNKernels

/// A Conv2d node run by oneDNN and the nodes fused into it (`first...last`).
struct OneDNNChain {
    let first: Int, last: Int
    let conv: Conv2d
    let geometry: ConvGeometry
    let epilogue: ConvEpilogue
}

extension Executor {
    /// The oneDNN chain starting at node `i`, or nil when it stays with the native kernels
    /// (not Float, not a conv, or the backend says so).
    func oneDNNChain(_ i: Int, pinned: Set<String>, consumers: [String: Int]) throws(KernelError) -> OneDNNChain? {
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
        var epilogue = ConvEpilogue()
        if feedsOnlyNext(last), case .batchNorm(let bn) = nodes[last + 1].op {
            let a = Self.batchNormAffine(bn, channels: g.outChannels)
            epilogue.affine = (a.centre.map { Float($0) }, a.factor.map { Float($0) }, a.shift.map { Float($0) })
            last += 1
        }
        if feedsOnlyNext(last), case .activation(let a) = nodes[last + 1].op {
            let k = kernelActivation(a)
            var fits = ConvEpilogue.supports(k)
            if case .clip(let lo, let hi) = k { fits = lo <= hi }
            if fits {
                epilogue.activation = k
                last += 1
            }
        }
        return OneDNNChain(first: i, last: last, conv: c, geometry: g, epilogue: epilogue)
    }

    /// The values kept in `layout`: outputs of oneDNN chains and of element-wise nodes over such
    /// values, when every reader is a oneDNN chain or such an element-wise node, no value is
    /// pinned, and the channels fill the layout's blocks exactly.
    func oneDNNLayoutValues(_ chains: [Int: OneDNNChain], pinned: Set<String>, layout: TensorLayout?) -> Set<String> {
        // Retained values are read back as NCHW (`value(named:)`, per-layer verification).
        guard let layout, layout != .nchw, !retainsAllValues else { return [] }
        let nodes = graph.nodes
        var chainOutput: [String: Int] = [:], chainInput: [String: [Int]] = [:]
        for chain in chains.values {
            chainOutput[nodes[chain.last].output] = chain.first
            chainInput[nodes[chain.first].inputs[0], default: []].append(chain.first)
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
                if !ok || !producerOK {
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
        let weight = WeightReparameterization.effectiveWeight(c.weight, c.reparameterization).map { Float($0) }
        let bias = c.bias.map { Parameters.doubles($0).map { Float($0) } }
        let x = UnsafeRawPointer(xScalar).assumingMemoryBound(to: Float.self)
        let y = UnsafeMutableRawPointer(yScalar).assumingMemoryBound(to: Float.self)
        let conv = try OneDNNConvolution(
            chain.geometry, input: x, inputLayout: inputLayout, weight: weight, bias: bias,
            output: y, outputLayout: outputLayout, epilogue: chain.epilogue, threads: threads)
        memory.account(conv.byteCount)
        let range = chain.first...chain.last
        // Train mode: the nodes one by one (BatchNorm on batch statistics), made on first use.
        var unfused: [(RunState) throws -> Void]?
        return { [unowned self] state in
            guard state.mode == .train else {
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
