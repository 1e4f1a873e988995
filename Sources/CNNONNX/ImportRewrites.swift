// Pattern recognition on the converted nodes: what exporters write as several ONNX nodes
// becomes one graph op. A fused node keeps the name and output of the pattern's last node, and
// every value inside a pattern must be read by the pattern alone.
import CNNGraph

extension Importer {
    struct Index {
        var producer: [String: Int] = [:]
        var uses: [String: Int] = [:]
    }

    func buildIndex() -> Index {
        var index = Index()
        for (i, n) in nodes.enumerated() where !n.removed {
            for o in n.outputs { index.producer[o] = i }
            for v in n.inputs { index.uses[v, default: 0] += 1 }
        }
        for o in graphOutputs { index.uses[o, default: 0] += 1 }
        return index
    }

    /// Records node `i`'s inputs, outputs and liveness before a rule changes them, so that the
    /// index can be updated for just the nodes a rewrite touched (a full rebuild after every
    /// rewrite made n rewrites cost O(n²)). Every rule calls it before mutating a node's inputs,
    /// outputs, position or liveness.
    func touch(_ i: Int) {
        if touched[i] == nil { touched[i] = (nodes[i].inputs, nodes[i].outputs, nodes[i].removed) }
    }

    /// Applies the touched nodes' changes to `index` and clears the record.
    func updateIndex(_ index: inout Index) {
        guard !touched.isEmpty else { return }
        for (i, old) in touched where !old.removed {
            for o in old.outputs where index.producer[o] == i { index.producer[o] = nil }
            for v in old.inputs { index.uses[v, default: 0] -= 1 }
        }
        for i in touched.keys where !nodes[i].removed {
            for o in nodes[i].outputs { index.producer[o] = i }
            for v in nodes[i].inputs { index.uses[v, default: 0] += 1 }
        }
        touched = [:]
    }

    /// Rewrites until nothing changes, then lowers the remaining intermediate kinds.
    func rewrite() throws(ONNXError) {
        let rules: [(String, (Int, Index) throws(ONNXError) -> Bool)] = [
            ("HardSwish", { i, x in self.hardSwishFromMulClipScale(i, x) }),
            ("HardSigmoid", { i, x in self.hardSigmoidFromClipScale(i, x) }),
            ("HardSwish", { i, x in self.hardSwishFromHardSigmoid(i, x) }),
            ("SiLU", { i, x in self.siluFromSigmoid(i, x) }),
            ("Linear", { i, x in self.linearBias(i, x) }),
            ("ChannelShuffle", { i, x in self.channelShuffle(i, x) }),
            ("Pad", { i, x in self.mergePad(i, x) }),
        ]
        // One index for all rules, kept exact by `updateIndex` after each rewrite.
        touched = [:]
        var index = buildIndex()
        for (label, rule) in rules {
            for i in nodes.indices where !nodes[i].removed {
                if try rule(i, index) {
                    fused[label, default: 0] += 1
                }
                updateIndex(&index)
            }
        }
        // Lowering changes only what nodes compute, not what they read: the index stays valid.
        for i in nodes.indices where !nodes[i].removed { try lower(i) }
        for i in nodes.indices where !nodes[i].removed {
            _ = mergeAffine(i, index)
            updateIndex(&index)
        }
    }

    /// Removes nodes whose outputs nothing reads; returns how many.
    func eliminateDeadNodes() -> Int {
        var live = graphOutputs
        var removed = 0
        for i in nodes.indices.reversed() where !nodes[i].removed {
            if nodes[i].outputs.contains(where: { live.contains($0) }) {
                for v in nodes[i].inputs { live.insert(v) }
            } else {
                nodes[i].removed = true
                removed += 1
            }
        }
        if removed > 0 { note("\(removed) converted node(s) whose results nothing reads were dropped") }
        return removed
    }

    // MARK: Helpers

    func producer(_ v: String, _ x: Index) -> Int? { x.producer[v].flatMap { nodes[$0].removed ? nil : $0 } }

    /// `v` is produced by a node and read exactly once, by the pattern.
    func isPrivate(_ v: String, _ x: Index) -> Bool { x.uses[v] == 1 && !graphOutputs.contains(v) }

    func privateProducer(_ v: String, _ x: Index) -> Int? { isPrivate(v, x) ? producer(v, x) : nil }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-6 * max(1, abs(b)) }

    func scalarBinary(_ n: IRNode) -> (BinaryKind, Double, Bool)? {
        guard case .constBinary(let k, let c, let constFirst) = n.kind, let v = c.scalar else { return nil }
        return (k, v, constFirst)
    }

    /// · (1/6), or / 6.
    func isDivideBy6(_ n: IRNode) -> Bool {
        guard let (k, v, constFirst) = scalarBinary(n) else { return false }
        return (k == .mul && close(v, 1.0 / 6)) || (k == .div && !constFirst && close(v, 6))
    }

    func isAdd3(_ n: IRNode) -> Bool {
        guard let (k, v, constFirst) = scalarBinary(n) else { return false }
        return (k == .add && close(v, 3)) || (k == .sub && !constFirst && close(v, -3))
    }

    func isClip06(_ n: IRNode) -> Bool {
        if case .op(.activation(.clip(let lo, let hi))) = n.kind { return lo == 0 && hi == 6 }
        return false
    }

    /// `clip(x + 3, 0, 6)` feeding `v` (privately): returns x.
    func relu6OfXPlus3(_ v: String, _ x: Index) -> (x: String, nodes: [Int])? {
        guard let c = privateProducer(v, x), isClip06(nodes[c]),
            let a = privateProducer(nodes[c].inputs[0], x), isAdd3(nodes[a])
        else { return nil }
        return (nodes[a].inputs[0], [a, c])
    }

    func replace(_ last: Int, with op: Op, input: String, removing: [Int]) {
        touch(last)
        for r in removing { touch(r) }
        nodes[last].kind = .op(op)
        nodes[last].inputs = [input]
        for r in removing { nodes[r].removed = true }
    }

    // MARK: Rules

    /// x · clip(x + 3, 0, 6) / 6 (PyTorch < 1.6 style, Keras `hard_swish`).
    func hardSwishFromMulClipScale(_ i: Int, _ x: Index) -> Bool {
        guard isDivideBy6(nodes[i]), let m = privateProducer(nodes[i].inputs[0], x),
            case .op(.mul) = nodes[m].kind
        else { return false }
        let (a, b) = (nodes[m].inputs[0], nodes[m].inputs[1])
        for (input, other) in [(a, b), (b, a)] {
            if let r = relu6OfXPlus3(other, x), r.x == input {
                replace(i, with: .activation(.hardSwish), input: input, removing: r.nodes + [m])
                return true
            }
        }
        return false
    }

    /// clip(x + 3, 0, 6) / 6 = HardSigmoid(1/6, 1/2).
    func hardSigmoidFromClipScale(_ i: Int, _ x: Index) -> Bool {
        guard isDivideBy6(nodes[i]), let r = relu6OfXPlus3(nodes[i].inputs[0], x) else { return false }
        replace(i, with: .activation(.hardSigmoid(alpha: 1.0 / 6, beta: 0.5)), input: r.x, removing: r.nodes)
        return true
    }

    /// x · HardSigmoid(1/6, 1/2)(x).
    func hardSwishFromHardSigmoid(_ i: Int, _ x: Index) -> Bool {
        guard case .op(.mul) = nodes[i].kind else { return false }
        let (a, b) = (nodes[i].inputs[0], nodes[i].inputs[1])
        for (input, other) in [(a, b), (b, a)] {
            if let h = privateProducer(other, x),
                case .op(.activation(.hardSigmoid(let alpha, let beta))) = nodes[h].kind,
                nodes[h].inputs[0] == input, close(Double(alpha), 1.0 / 6), close(Double(beta), 0.5)
            {
                replace(i, with: .activation(.hardSwish), input: input, removing: [h])
                return true
            }
        }
        return false
    }

    /// x · sigmoid(x).
    func siluFromSigmoid(_ i: Int, _ x: Index) -> Bool {
        guard case .op(.mul) = nodes[i].kind else { return false }
        let (a, b) = (nodes[i].inputs[0], nodes[i].inputs[1])
        for (input, other) in [(a, b), (b, a)] {
            if let s = privateProducer(other, x), case .op(.activation(.sigmoid)) = nodes[s].kind,
                nodes[s].inputs[0] == input
            {
                replace(i, with: .activation(.silu), input: input, removing: [s])
                return true
            }
        }
        return false
    }

    /// Linear (from MatMul or a C-less Gemm) followed by adding a per-feature constant.
    func linearBias(_ i: Int, _ x: Index) -> Bool {
        guard case .constBinary(let k, let c, let constFirst) = nodes[i].kind, k == .add || (k == .sub && !constFirst),
            let l = privateProducer(nodes[i].inputs[0], x), case .op(.linear(var linear)) = nodes[l].kind,
            linear.bias == nil,
            let rank = shapes[nodes[i].inputs[0]]?.count
        else { return false }
        let features = linear.outFeatures
        guard c.shape.count <= rank else { return false }
        let padded = [Int](repeating: 1, count: rank - c.shape.count) + c.shape
        guard padded.dropLast().allSatisfy({ $0 == 1 }), padded.last == 1 || padded.last == features else {
            return false
        }
        var values = padded.last == 1 ? [Float](repeating: c.floats[0], count: features) : c.floats
        if k == .sub { values = values.map { -$0 } }
        touch(i); touch(l)
        linear.bias = tensor(c, node: nodes[i].name, role: "bias", shape: [features], values: values)
        nodes[i].kind = .op(.linear(linear))
        nodes[i].inputs = nodes[l].inputs
        nodes[l].removed = true
        // The fused node sits where the Linear was (its input is defined there); keep its slot.
        let fusedNode = nodes[i]
        nodes[i] = nodes[l]
        nodes[l] = fusedNode
        return true
    }

    /// Reshape [N, C, …] → [N, g, C/g, …], Transpose(0, 2, 1, …), Reshape back.
    func channelShuffle(_ i: Int, _ x: Index) -> Bool {
        guard case .reshape(let back) = nodes[i].kind, let t = privateProducer(nodes[i].inputs[0], x),
            case .transpose(let perm) = nodes[t].kind, let r = privateProducer(nodes[t].inputs[0], x),
            case .reshape(let split) = nodes[r].kind, let s = shapes[nodes[r].inputs[0]]
        else { return false }
        guard s.count >= 3, split.count >= 4, back == s, split[0] == s[0], split[1] * split[2] == s[1],
            ShapeMath.count(Array(split[3...])) == ShapeMath.count(Array(s[2...])),
            perm == [0, 2, 1] + Array(3..<split.count)
        else { return false }
        replace(i, with: .channelShuffle(groups: split[1]), input: nodes[r].inputs[0], removing: [r, t])
        return true
    }

    /// Pad (constant, H and W only) merged into the Conv or pool it feeds.
    func mergePad(_ i: Int, _ x: Index) -> Bool {
        let consumer = nodes[i]
        guard let p = privateProducer(consumer.inputs.first ?? "", x),
            case .pad(let begin, let end, let value) = nodes[p].kind,
            begin.count == 4, begin[0] == 0, begin[1] == 0, end[0] == 0, end[1] == 0
        else { return false }
        func grown(_ w: Window2d) -> Window2d {
            var w = w
            w.padTop += begin[2]; w.padLeft += begin[3]; w.padBottom += end[2]; w.padRight += end[3]
            return w
        }
        switch consumer.kind {
        case .op(.conv2d(var c)):
            guard value == 0 else { return false }
            c.window = grown(c.window)
            nodes[i].kind = .op(.conv2d(c))
        case .op(.pool2d(var pool)):
            if pool.kind == .average {
                guard value == 0, pool.countIncludePad || !pool.window.hasPadding else { return false }
                pool.countIncludePad = true
            } else {
                guard value == -.infinity || (value == 0 && producesNonNegative(nodes[p].inputs[0], x)) else {
                    return false
                }
            }
            pool.window = grown(pool.window)
            let w = pool.window
            guard w.padTop < w.kernelH, w.padBottom < w.kernelH, w.padLeft < w.kernelW, w.padRight < w.kernelW else {
                return false
            }
            nodes[i].kind = .op(.pool2d(pool))
        default:
            return false
        }
        touch(i); touch(p)
        nodes[i].inputs[0] = nodes[p].inputs[0]
        nodes[p].removed = true
        return true
    }

    func producesNonNegative(_ v: String, _ x: Index) -> Bool {
        guard let p = producer(v, x), case .op(.activation(let a)) = nodes[p].kind else { return false }
        switch a {
        case .relu, .sigmoid, .hardSigmoid: return true
        case .clip(let lo, _): return lo >= 0
        default: return false
        }
    }

    // MARK: Lowering

    /// Reshape/Transpose that are flattens or no-ops; constant arithmetic → Affine.
    func lower(_ i: Int) throws(ONNXError) {
        let n = nodes[i]
        guard let s = shapes[n.inputs.first ?? ""] else { return }
        switch n.kind {
        case .reshape(let t):
            lowerReshape(i, from: s, to: t)
        case .op(.tensor(let t)) where t.kind == "Squeeze" || t.kind == "Unsqueeze":
            // A squeeze that keeps the batch axis and leaves [N, rest] is a flatten; one that
            // changes nothing is an identity (both exact at any batch).
            guard let o = shapes[n.outputs.first ?? ""], let given = try? t.ints("axes") else { return }
            let rank = t.kind == "Squeeze" ? s.count : o.count
            guard let axes = try? TensorShapes.axes(given, rank: rank), !axes.contains(0) else { return }
            if o == s {
                nodes[i].kind = .op(.identity)
            } else if let first = s.first, o == [first, ShapeMath.count(Array(s.dropFirst()))] {
                nodes[i].kind = .op(.flatten(axis: 1))
            }
        case .transpose(let p):
            // Moving only size-1 axes keeps the data order: it is a reshape.
            if isOrderPreserving(s, p) { lowerReshape(i, from: s, to: p.map { s[$0] }) }
        case .constBinary(let k, let c, let constFirst):
            // Not per-channel: left for `lowered`, which makes it a broadcasting tensor op.
            guard s.count >= 2 else { return }
            let channels = s[1]
            guard c.shape.count <= s.count else { return }
            try checkExpansion(channels, node: n.name, opType: n.onnxOp, what: "per-channel constant")
            let padded = [Int](repeating: 1, count: s.count - c.shape.count) + c.shape
            guard padded.enumerated().allSatisfy({ $0.offset == 1 || $0.element == 1 }),
                padded[1] == 1 || padded[1] == channels
            else {
                return
            }
            let v = padded[1] == 1 ? [Float](repeating: c.floats[0], count: channels) : c.floats
            let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
            let scale: [Float], shift: [Float]
            switch (k, constFirst) {
            case (.add, _): (scale, shift) = (ones, v)
            case (.sub, false): (scale, shift) = (ones, v.map { -$0 })
            case (.sub, true): (scale, shift) = (ones.map { -$0 }, v)
            case (.mul, _): (scale, shift) = (v, zeros)
            case (.div, _): (scale, shift) = (v.map { 1 / $0 }, zeros)
            }
            let scaleIsConst = k == .mul || k == .div
            let scaleTensor =
                scaleIsConst
                ? tensor(c, node: n.name, role: "scale", shape: [channels], values: scale)
                : claim(Tensor(name: "\(n.name).scale", shape: [channels], values: scale))
            let shiftTensor =
                scaleIsConst
                ? claim(Tensor(name: "\(n.name).shift", shape: [channels], values: shift))
                : tensor(c, node: n.name, role: "shift", shape: [channels], values: shift)
            nodes[i].kind = .op(.affine(Affine(scale: scaleTensor, shift: shiftTensor)))
        default:
            break
        }
    }

    func lowerReshape(_ i: Int, from s: [Int], to t: [Int]) {
        if t == s { nodes[i].kind = .op(.identity); return }
        for k in Array(1...max(s.count, 1)) + [0]
        where k <= s.count && t == [ShapeMath.count(Array(s[..<k])), ShapeMath.count(Array(s[k...]))] {
            nodes[i].kind = .op(.flatten(axis: k))
            return
        }
    }

    /// A transpose that moves only size-1 axes keeps the data order.
    func isOrderPreserving(_ s: [Int], _ p: [Int]) -> Bool {
        p.filter { s[$0] != 1 } == p.filter { s[$0] != 1 }.sorted()
    }

    /// Affine(Affine(x)) → one Affine, when the inner result is read only by the outer.
    func mergeAffine(_ i: Int, _ x: Index) -> Bool {
        guard case .op(.affine(let outer)) = nodes[i].kind, let j = privateProducer(nodes[i].inputs[0], x),
            case .op(.affine(let inner)) = nodes[j].kind
        else { return false }
        let (s1, b1, s2, b2) = (inner.scale.array, inner.shift.array, outer.scale.array, outer.shift.array)
        let scale: Tensor
        if s2.allSatisfy({ $0 == 1 }) {
            scale = inner.scale
        } else if s1.allSatisfy({ $0 == 1 }) {
            scale = outer.scale
        } else {
            scale = claim(
                Tensor(name: "\(nodes[i].name).scale", shape: [s1.count], values: zip(s1, s2).map { $0 * $1 }))
        }
        let shift: Tensor
        if b1.allSatisfy({ $0 == 0 }) {
            shift = outer.shift
        } else if s2.allSatisfy({ $0 == 1 }) && b2.allSatisfy({ $0 == 0 }) {
            shift = inner.shift
        } else {
            shift = claim(
                Tensor(
                    name: "\(nodes[i].name).shift", shape: [b1.count],
                    values: (0..<b1.count).map { s2[$0] * b1[$0] + b2[$0] }))
        }
        touch(i); touch(j)
        nodes[i].kind = .op(.affine(Affine(scale: scale, shift: shift)))
        nodes[i].inputs = nodes[j].inputs
        nodes[j].removed = true
        let merged = nodes[i]
        nodes[i] = nodes[j]
        nodes[j] = merged
        fused["Affine", default: 0] += 1
        return true
    }
}
