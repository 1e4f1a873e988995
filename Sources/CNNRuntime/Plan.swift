// Planning: assigns every value a buffer (shared between values whose lifetimes do not
// overlap), converts parameters, validates each node's kernel geometry, and turns each node into
// a step that calls the CNNKernels kernel on fixed pointers.
import CNNGraph
import CNNKernels

extension Executor {
    func plan() throws(RuntimeError) {
        let nodes = graph.nodes
        let pinned = Set(graph.inputs.map(\.name) + graph.outputs.map(\.name))
        func count(_ name: String) -> Int { shapes[name].map { $0.reduce(1, *) } ?? 0 }

        var consumers: [String: Int] = [:], lastReader: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for v in Set(node.inputs) {
                consumers[v, default: 0] += 1
                lastReader[v] = i
            }
        }
        // Convolutions run by oneDNN, each with the nodes fused into it (OneDNNBinding.swift).
        var chains: [Int: OneDNNChain] = [:]
        var first = 0
        while first < nodes.count {
            let chain: OneDNNChain?
            do {
                chain = try oneDNNChain(first, pinned: pinned, consumers: consumers, lastReader: lastReader)
            } catch {
                throw .kernel(node: nodes[first].name, message: error.description)
            }
            chains[first] = chain
            first = (chain?.last ?? first) + 1
        }
        let interLayout = chains.isEmpty ? nil : OneDNNConvolution.preferredLayout
        let kept = oneDNNLayoutValues(chains, pinned: pinned, layout: interLayout)

        // Buffer assignment: greedy best fit over slots freed after a value's last reader.
        // A fused chain reads its input until its last node writes the chain's output.
        var lastUse: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for v in node.inputs { lastUse[v] = max(lastUse[v] ?? i, chains[i]?.last ?? i) }
        }
        // A fused residual Add's other operand lives until the chain's end, whose output takes its buffer.
        var residualAt: [Int: String] = [:]
        for chain in chains.values {
            guard let operand = chain.residual else { continue }
            lastUse[operand] = max(lastUse[operand] ?? chain.last, chain.last)
            residualAt[chain.last] = operand
        }
        var readLastBefore: [Int: [String]] = [:]  // values whose last use is a chain's end, not one of its inputs
        for chain in chains.values {
            let x = nodes[chain.first].inputs[0]
            if lastUse[x] == chain.last, !nodes[chain.last].inputs.contains(x) {
                readLastBefore[chain.last, default: []].append(x)
            }
        }
        var pointers: [String: UnsafeMutablePointer<Scalar>] = [:]
        var capacities: [Int] = []
        var freeSlots: [Int] = []
        var slotOf: [String: Int] = [:]
        var dedicated: [String: Int] = [:]
        var releasedInPlace = Set<String>()
        for (i, node) in nodes.enumerated() {
            for (k, out) in Self.distinctOutputs(node).enumerated() {
                let needed = count(out)
                // In place: an element-wise op may write over an input that dies here.
                let inPlaceInput =
                    k == 0 && Self.runsInPlace(node.op)
                    ? node.inputs.enumerated().first { k, v in
                        (k == 0 || node.op == .add) && slotOf[v] != nil && lastUse[v] == i && count(v) == needed
                    }?.element
                    : k == 0
                        ? residualAt[i].flatMap { v in slotOf[v] != nil && count(v) == needed ? v : nil }
                        : nil
                if retainsAllValues || pinned.contains(out) {
                    dedicated[out] = needed
                } else if let v = inPlaceInput {
                    slotOf[out] = slotOf[v]
                    releasedInPlace.insert(v)
                } else {
                    let fits = freeSlots.filter { capacities[$0] >= needed }
                    let pick =
                        fits.min { capacities[$0] < capacities[$1] }
                        ?? freeSlots.max { capacities[$0] < capacities[$1] }
                    if let s = pick {
                        freeSlots.removeAll { $0 == s }
                        capacities[s] = max(capacities[s], needed)
                        slotOf[out] = s
                    } else {
                        capacities.append(needed)
                        slotOf[out] = capacities.count - 1
                    }
                }
            }
            // Release what this node read last (and its own outputs when nobody reads them).
            var released = releasedInPlace
            releasedInPlace = []
            for v in node.inputs + Self.distinctOutputs(node) + (readLastBefore[i] ?? [])
            where (lastUse[v] ?? i) == i && !released.contains(v) {
                released.insert(v)
                if let s = slotOf[v] { freeSlots.append(s) }
            }
        }
        // Every count here is a validated value's (≤ limits.maxElementsPerValue ≤ 2^40), but
        // their sum and its bytes are checked before the first allocation.
        let planned = graph.inputs.map { count($0.name) } + capacities + dedicated.values
        let stride = MemoryLayout<Scalar>.stride
        guard let elements = planned.reduce(0, { $0?.adding(checked: $1) }),
            let bytes = elements.multiplied(checked: stride), bytes <= limits.maxActivationBytes
        else {
            let total = planned.reduce(0) { $0.adding(checked: $1) ?? .max }.multiplied(saturating: stride)
            throw .invalidGraph(
                "the buffer plan at batch \(batch) needs \(total == .max ? "more than 2^63 bytes" : formatBytes(total)) of activations "
                    + "(\(stride)-byte scalars), more than the limit of \(limits) (raise it with --max-memory or \(SizeLimits.environmentVariable))"
            )
        }
        for input in graph.inputs {
            let p = memory.allocate(count(input.name))
            pointers[input.name] = p
            readable[input.name] = p
            inputBuffers.append((input.name, shapes[input.name] ?? [], p))
        }
        let slotPointers = capacities.map { memory.allocate($0) }
        for node in nodes {
            let distinct = Self.distinctOutputs(node)
            for out in distinct {
                let p = dedicated[out].map { memory.allocate($0) } ?? slotPointers[slotOf[out]!]
                // An op of one result gives every output name the same buffer.
                let names = distinct.count == 1 ? node.outputs : [out]
                for o in names { pointers[o] = p }
                if dedicated[out] != nil { for o in names { readable[o] = p } }
            }
        }

        bufferOf = pointers
        var workspaceNeed = 0, workspaceNode = ""
        var ownScratchNeed = 0, ownScratchNode = ""
        var skip = 0
        for (i, node) in nodes.enumerated() {
            if skip > 0 { skip -= 1; continue }
            let ins = node.inputs.map { UnsafePointer(pointers[$0]!) }
            let inShapes = node.inputs.map { shapes[$0]! }
            if let chain = chains[i] {
                // A Float conv run by oneDNN, with the BatchNorm and ReLU/Clip after it (OneDNNBinding.swift).
                let out = nodes[chain.last].output
                do {
                    steps.append(
                        Step(
                            node: i,
                            body: try oneDNNStep(
                                chain, x: ins[0],
                                inputLayout: kept.contains(node.inputs[0]) ? interLayout ?? .nchw : .nchw,
                                y: pointers[out]!, outputLayout: kept.contains(out) ? interLayout ?? .nchw : .nchw,
                                pointers: pointers)))
                } catch {
                    throw .kernel(node: node.name, message: error.description)
                }
                skip = chain.last - i
                continue
            }
            if case .tensor(let t) = node.op {
                do {
                    let outShapes = node.outputs.map { shapes[$0]! }
                    steps.append(
                        Step(
                            node: i,
                            body: try tensorStep(t, ins, inShapes, node.outputs.map { pointers[$0]! }, outShapes)))
                    // The kernel allocates its own working memory while it runs: counted against
                    // the limit on top of the shared scratch (one step runs at a time).
                    let own =
                        t.definition?.scratchElements(t, operands: t.operandShapes(inShapes), outputs: outShapes) ?? 0
                    if own > ownScratchNeed { (ownScratchNeed, ownScratchNode) = (own, node.name) }
                } catch {
                    throw .kernel(node: node.name, message: "\(t.kind): \(error.message)")
                }
                continue
            }
            let y = pointers[out: node.output, pointers]
            let outShape = shapes[node.output]!
            do {
                var (body, scratch) = try makeStep(node, ins, inShapes, y, outShape)
                if scratch > workspaceNeed { (workspaceNeed, workspaceNode) = (scratch, node.name) }
                if fusesWithNextReLU(i, pinned: pinned, consumers: consumers) {
                    // The ReLU's step is folded into this one (its time is reported here).
                    let reluOut = pointers[nodes[i + 1].output]!
                    switch node.op {
                    case .batchNorm(let bn):
                        body = fusedBatchNormReLU(
                            bn, shape: outShape, x: ins[0], bnOutput: y, y: reluOut,
                            activation: nodes[i + 1].op, unfused: body)
                    default:
                        body = fusedAddReLU(ins[0], ins[1], y: reluOut, count: outShape.reduce(1, *))
                    }
                    skip = 1
                }
                steps.append(Step(node: i, body: body))
            } catch {
                throw .kernel(node: node.name, message: error.description)
            }
            // Extra outputs alias the first (the format allows them; they carry the same value).
        }
        // Scratch comes on top of the activations checked above: the shared workspace, then the
        // largest working memory a tensor op's kernel allocates while it runs.
        var used = bytes
        for (need, node, what) in [
            (workspaceNeed, workspaceNode, "scratch"), (ownScratchNeed, ownScratchNode, "working memory"),
        ] where need > 0 {
            guard let needBytes = need.multiplied(checked: MemoryLayout<Scalar>.stride),
                let total = used.adding(checked: needBytes), total <= limits.maxActivationBytes
            else {
                throw .kernel(
                    node: node,
                    message:
                        "its \(what) of \(need) elements on top of \(formatBytes(used)) of activation buffers"
                        + (used > bytes ? " and scratch" : "")
                        + " exceeds the limit of \(limits) (raise it with --max-memory or \(SizeLimits.environmentVariable))"
                )
            }
            used = total
        }
        _ = workspace.buffer(workspaceNeed, of: Scalar.self)
    }

    /// The outputs that need buffers of their own: every output of a tensor op; the first of
    /// the others (their extra outputs carry the same value).
    static func distinctOutputs(_ node: Node) -> [String] {
        if case .tensor = node.op { return node.outputs }
        return [node.output]
    }

    /// A tensor op's step: its definition's kernel, with the constant operands converted to
    /// `Scalar` once here.
    func tensorStep(
        _ t: TensorOp, _ ins: [UnsafePointer<Scalar>], _ inShapes: [[Int]],
        _ outs: [UnsafeMutablePointer<Scalar>], _ outShapes: [[Int]]
    ) throws(TensorOpError) -> (RunState) throws -> Void {
        guard let definition = t.definition else {
            throw TensorOpError("op kind '\(t.kind)' is not one this build knows")
        }
        var next = ins.makeIterator()
        let operands: [UnsafePointer<Scalar>] = t.operands.map { o in
            switch o {
            case .input: return next.next()!
            case .constant(let c): return UnsafePointer(memory.store(Parameters.doubles(c).map { Scalar($0) }))
            }
        }
        let kernel = try definition.prepare(t, operands: t.operandShapes(inShapes), outputs: outShapes, as: Scalar.self)
        return { _ in kernel(operands, outs) }
    }

    /// The validated geometry of a Conv2d node on input shape `xs`.
    func convGeometry(_ c: Conv2d, _ xs: [Int]) throws(KernelError) -> ConvGeometry {
        let w = c.window
        return try ConvGeometry(
            input: shape4(xs), outChannels: c.outChannels, kernel: Size2D(w.kernelH, w.kernelW),
            stride: Size2D(w.strideH, w.strideW), dilation: Size2D(w.dilationH, w.dilationW),
            padding: Padding2D(top: w.padTop, left: w.padLeft, bottom: w.padBottom, right: w.padRight),
            groups: c.groups)
    }

    /// Ops that write their output over their input when that input dies there: the copies
    /// (Identity, Flatten; Dropout, which is a copy in eval mode and a scalar loop in train mode).
    /// The vectorized element-wise kernels allow aliasing too, but measured 5-10x slower in place
    /// (the vectorizer's overlap check sends exact aliasing down the scalar loop), so they do not.
    static func runsInPlace(_ op: Op) -> Bool {
        switch op {
        case .dropout, .identity, .flatten:
            return true
        default:
            return false
        }
    }

    /// The step running one node, and the `Workspace` elements it needs.
    func makeStep(
        _ node: Node, _ ins: [UnsafePointer<Scalar>], _ inShapes: [[Int]],
        _ y: UnsafeMutablePointer<Scalar>, _ outShape: [Int]
    )
        throws(KernelError) -> (body: (RunState) throws -> Void, scratch: Int)
    {
        let x = ins.first!, xs = inShapes.first!
        let n = outShape.reduce(1, *)
        let ws = workspace
        func convert(_ t: Tensor) -> UnsafePointer<Scalar> {
            UnsafePointer(memory.store(Parameters.doubles(t).map { Scalar($0) }))
        }
        func convert(_ values: [Double]) -> UnsafePointer<Scalar> {
            UnsafePointer(memory.store(values.map { Scalar($0) }))
        }
        func constant(_ value: Double, _ count: Int) -> UnsafePointer<Scalar> {
            convert([Double](repeating: value, count: count))
        }
        let copy: (RunState) throws -> Void = { _ in if UnsafePointer(y) != x { y.update(from: x, count: n) } }

        switch node.op {
        case .conv2d(let c):
            let g = try convGeometry(c, xs)
            let weight = convert(WeightReparameterization.effectiveWeight(c.weight, c.reparameterization))
            let bias = c.bias.map(convert)
            return (
                { _ in conv2d(g, input: x, weight: weight, bias: bias, output: y, workspace: ws) },
                g.workspaceCount(threads: threads)
            )
        case .convTranspose2d(let c):
            let w = c.window
            let g = try ConvTransposeGeometry(
                input: shape4(xs), outChannels: c.outChannels, kernel: Size2D(w.kernelH, w.kernelW),
                stride: Size2D(w.strideH, w.strideW), dilation: Size2D(w.dilationH, w.dilationW),
                padding: Padding2D(top: w.padTop, left: w.padLeft, bottom: w.padBottom, right: w.padRight),
                outputPadding: Size2D(c.outputPadding.h, c.outputPadding.w), groups: c.groups)
            let weight = convert(c.weight)
            let bias = c.bias.map(convert)
            return (
                { _ in convTranspose2d(g, input: x, weight: weight, bias: bias, output: y, workspace: ws) },
                g.workspaceCount
            )
        case .linear(let l):
            let weight = convert(WeightReparameterization.effectiveWeight(l.weight, l.reparameterization))
            let bias = l.bias.map(convert)
            let rows = n / l.outFeatures, inF = l.inFeatures, outF = l.outFeatures
            return (
                { _ in
                    linear(
                        input: x, weight: weight, bias: bias, output: y, batch: rows, inFeatures: inF, outFeatures: outF
                    )
                }, 0
            )
        case .batchNorm(let bn):
            return (batchNormStep(node, bn, x, xs, y), 0)
        case .dropout(let d):
            let shape = shape4(xs), keep = d.keepProbability
            let scaling: DropoutScaling = d.convention == .inverted ? .inverted : .classic
            let granularity: DropoutGranularity = d.granularity == .element ? .element : .channel
            return (
                { state in
                    switch state.moments == nil ? state.mode : .eval {
                    case .eval:
                        if scaling == .classic {
                            scale(input: x, output: y, count: n, by: keep)
                        } else {
                            try copy(state)
                        }
                    case .train, .monteCarloDropout:
                        try dropout(
                            shape, input: x, output: y, keepProbability: keep, scaling: scaling,
                            granularity: granularity, generator: &state.generator)
                    }
                }, 0
            )
        case .activation, .pool2d, .globalPool, .flatten, .identity, .add, .mul, .concat, .softmax, .affine, .layerNorm,
            .groupNorm, .instanceNorm, .lrn, .channelShuffle, .resize:
            // Bound by the op's definition (Sources/CNNGraph/Ops).
            let buffers = KernelBuffers(inputs: ins, inputShapes: inShapes, output: y, outputShape: outShape)
            guard
                let step = try node.op.definition.prepare(
                    buffers, parameters: KernelParameters(tensor: convert, filled: constant))
            else {
                throw .shapeMismatch("\(node.op.kindName) has no kernel binding")
            }
            return ({ _ in try step() }, 0)
        case .tensor(let t):
            throw .shapeMismatch("\(t.kind) is planned by tensorStep, not makeStep")
        }
    }

    /// BatchNorm: running statistics in eval and MC dropout modes; batch statistics (and the
    /// momentum update of the running ones, reported in the run state) in train mode.
    func batchNormStep(
        _ node: Node, _ bn: BatchNorm, _ x: UnsafePointer<Scalar>, _ xs: [Int],
        _ y: UnsafeMutablePointer<Scalar>
    ) -> (RunState) throws -> Void {
        let shape = shape4(xs), c = shape.channels
        func convert(_ values: [Double]) -> UnsafePointer<Scalar> {
            UnsafePointer(memory.store(values.map { Scalar($0) }))
        }
        let gamma = convert(bn.scale.map(Parameters.doubles) ?? [Double](repeating: 1, count: c))
        let beta = convert(bn.bias.map(Parameters.doubles) ?? [Double](repeating: 0, count: c))
        let runningMean = Parameters.doubles(bn.runningMean), runningVariance = Parameters.doubles(bn.runningVariance)
        let mean = convert(runningMean), variance = convert(runningVariance)
        let batchMean = memory.allocate(c), batchVariance = memory.allocate(c)
        let eps = bn.epsilon, momentum = bn.momentum, name = node.name
        let m = Double(shape.batch * shape.spatial)
        return { state in
            guard state.mode == .train else {
                batchNormInference(
                    shape, input: x, output: y, scale: gamma, bias: beta,
                    runningMean: mean, runningVariance: variance, epsilon: eps)
                return
            }
            try batchNormTraining(
                shape, input: x, output: y, scale: gamma, bias: beta, epsilon: eps,
                batchMean: batchMean, batchVariance: batchVariance)
            state.moments?.add(node: name, shape: shape, input: x)
            let bm = (0..<c).map { Double(batchMean[$0]) }
            let unbiased = (0..<c).map { Double(batchVariance[$0]) }
            state.batchNorm[name] = BatchNormStatistics(
                node: name, batchMean: bm, batchVariance: unbiased.map { $0 * (m - 1) / m },
                unbiasedBatchVariance: unbiased,
                runningMean: (0..<c).map { (1 - momentum) * runningMean[$0] + momentum * bm[$0] },
                runningVariance: (0..<c).map { (1 - momentum) * runningVariance[$0] + momentum * unbiased[$0] })
        }
    }
}

/// The kernels' activation for a graph activation (parameters widened to Double).
func kernelActivation(_ a: CNNGraph.Activation) -> CNNKernels.Activation { a.kernel }

extension Dictionary where Key == String {
    fileprivate subscript(out name: String, _ d: [String: Value]) -> Value { d[name]! }
}
