// Shape inference from the declared input shapes, checking every attribute and parameter shape.

/// Concrete shapes of every value, by name.
public typealias ShapeMap = [String: [Int]]

public func formatShape(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "×") }

extension Graph {
    /// Shapes of every value with symbolic dimensions set to `batch`. Assumes
    /// `validateStructure()` passed (it throws on any value it cannot find). Every value must
    /// have dimensions ≥ 1 and at most `limits.maxElementsPerValue` elements.
    public func inferShapes(batch: Int = 1, limits: SizeLimits = .standard) throws(GraphError) -> ShapeMap {
        var shapes: ShapeMap = [:]
        for input in inputs {
            let s = input.concreteShape(batch: batch)
            guard s.allSatisfy({ $0 > 0 }) else {
                throw .shapeMismatch(node: input.name, message: "input shape \(input.shape) has a dimension ≤ 0")
            }
            try Self.checkSize(s, of: input.name, what: "graph input", limits: limits)
            shapes[input.name] = s
        }
        for node in nodes {
            var inputShapes: [[Int]] = []
            for name in node.inputs {
                guard let s = shapes[name] else { throw .missingValue(node: node.name, value: name) }
                inputShapes.append(s)
            }
            let outs = try node.inferOutputShapes(inputShapes)
            for (o, out) in zip(node.outputs, outs) {
                guard out.allSatisfy({ $0 > 0 }) else { throw node.fail("the output '\(o)' \(formatShape(out)) would be empty") }
                try Self.checkSize(out, of: node.name, what: "output", limits: limits)
                shapes[o] = out
            }
        }
        for output in outputs {
            guard let inferred = shapes[output.name] else { throw .missingOutput(output.name) }
            let declared = output.shape
            let agrees = declared.isEmpty || (declared.count == inferred.count && zip(declared, inferred).allSatisfy {
                if case .fixed(let n) = $0.0 { return n == $0.1 } else { return true }
            })
            guard agrees else {
                throw .shapeMismatch(node: output.name, message: "graph output is declared \(declared.map(\.description).joined(separator: "×")) but computes to \(formatShape(inferred))")
            }
        }
        return shapes
    }

    /// Refuses a value of more elements than `limits` allow (or than an `Int` counts).
    static func checkSize(_ shape: [Int], of name: String, what: String, limits: SizeLimits) throws(GraphError) {
        let limit = limits.maxElementsPerValue
        guard let n = checkedElementCount(shape) else {
            throw .tooLarge(node: name, message: "its \(what) \(formatShape(shape)) has more elements than a 64-bit count holds (the limit is \(limit))")
        }
        guard n <= limit else {
            throw .tooLarge(node: name, message: "its \(what) \(formatShape(shape)) has \(n) elements (\(formatBytes(n.multiplied(saturating: 4))) as f32), "
                            + "more than the limit of \(limit) (\(limits) of activations; raise it with --max-memory or \(SizeLimits.environmentVariable))")
        }
    }
}

extension Node {
    func fail(_ message: String) -> GraphError { .shapeMismatch(node: name, message: message) }
    func bad(_ message: String) -> GraphError { .invalidAttribute(node: name, message: message) }

    func expectInputs(_ shapes: [[Int]], _ count: Int) throws(GraphError) {
        guard shapes.count == count else {
            throw .wrongInputCount(node: name, op: op.kindName, expected: String(count), found: shapes.count)
        }
    }

    func expectCount(_ t: Tensor?, _ n: Int, _ what: String) throws(GraphError) {
        if let t, t.count != n {
            throw .badParameter(node: name, tensor: t.name, message: "\(what) has \(t.count) values, expected \(n)")
        }
    }

    func normalizedAxis(_ axis: Int, rank: Int, allowRank: Bool = false) throws(GraphError) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank || (allowRank && a == rank) else { throw bad("axis \(axis) is out of range for rank \(rank)") }
        return a
    }

    func checkWindow(_ w: Window2d) throws(GraphError) {
        guard w.kernelH >= 1, w.kernelW >= 1, w.strideH >= 1, w.strideW >= 1, w.dilationH >= 1, w.dilationW >= 1,
              w.padTop >= 0, w.padLeft >= 0, w.padBottom >= 0, w.padRight >= 0 else {
            throw bad("kernel, stride and dilation must be ≥ 1 and padding ≥ 0 (kernel \(w.kernelH)×\(w.kernelW), stride \(w.strideH)×\(w.strideW), dilation \(w.dilationH)×\(w.dilationW))")
        }
    }

    func checkEpsilon(_ eps: Double) throws(GraphError) {
        guard eps >= 0, eps.isFinite else { throw bad("epsilon is \(eps), must be finite and ≥ 0") }
    }

    func checkReparameterization(_ r: WeightReparameterization?, outChannels: Int) throws(GraphError) {
        switch r {
        case .weightNorm(let g)?: try expectCount(g, outChannels, "weight-norm gain")
        case .weightStandardization(let eps)?:
            guard eps >= 0, eps.isFinite else { throw bad("weight standardization epsilon is \(eps), must be ≥ 0") }
        case nil: break
        }
    }

    /// The shape of every output of this node for the given input shapes. A tensor op gives one
    /// shape per output and must have as many outputs as its definition makes; the other ops
    /// give one shape that every output carries (extra outputs alias the first).
    public func inferOutputShapes(_ ins: [[Int]]) throws(GraphError) -> [[Int]] {
        guard case .tensor(let t) = op else {
            let out = try inferOutputShape(ins)
            return outputs.map { _ in out }
        }
        guard let definition = t.definition else {
            throw .invalidAttribute(node: name, message: "op kind '\(t.kind)' is not one this build knows")
        }
        guard ins.count == t.inputCount else {
            throw .wrongInputCount(node: name, op: t.kind, expected: String(t.inputCount), found: ins.count)
        }
        let outs: [[Int]]
        do { outs = try definition.outputShapes(t, operands: t.operandShapes(ins)) } catch {
            throw .shapeMismatch(node: name, message: "\(t.kind): \(error.message)")
        }
        guard outs.count == outputs.count else {
            throw .shapeMismatch(node: name, message: "\(t.kind) makes \(outs.count) outputs, the node names \(outputs.count)")
        }
        return outs
    }

    /// The output shape of this node for the given input shapes; checks attributes and
    /// parameter shapes against them. For a tensor op, its first output's shape.
    public func inferOutputShape(_ ins: [[Int]]) throws(GraphError) -> [Int] {
        switch op {
        case .tensor:
            return try inferOutputShapes(ins).first ?? []
        case .conv2d(let c):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard x.count == 4 else { throw fail("Conv2d takes NCHW input, got \(formatShape(x))") }
            guard c.weight.shape.count == 4 else { throw fail("weight '\(c.weight.name)' is \(formatShape(c.weight.shape)), expected 4-D [out, in/groups, kh, kw]") }
            try checkWindow(c.window)
            guard c.groups >= 1 else { throw bad("groups is \(c.groups), must be ≥ 1") }
            let out = c.weight.shape[0]
            guard x[1] == c.weight.shape[1].multiplied(checked: c.groups) else {
                throw fail("input has \(x[1]) channels, weight '\(c.weight.name)' \(formatShape(c.weight.shape)) with groups \(c.groups) expects \(c.weight.shape[1] * c.groups)")
            }
            guard out % c.groups == 0 else { throw fail("\(out) output channels do not divide into \(c.groups) groups") }
            guard c.weight.shape[2] == c.window.kernelH, c.weight.shape[3] == c.window.kernelW else {
                throw fail("kernel is \(c.window.kernelH)×\(c.window.kernelW) but weight '\(c.weight.name)' is \(formatShape(c.weight.shape))")
            }
            try expectCount(c.bias, out, "bias")
            try checkReparameterization(c.reparameterization, outChannels: out)
            guard let (h, w) = c.window.outputSize(inputH: x[2], inputW: x[3]), h > 0, w > 0 else {
                throw fail("the \(c.window.kernelH)×\(c.window.kernelW) kernel does not fit the \(x[2])×\(x[3]) input")
            }
            return [x[0], out, h, w]
        case .convTranspose2d(let c):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard x.count == 4 else { throw fail("ConvTranspose2d takes NCHW input, got \(formatShape(x))") }
            guard c.weight.shape.count == 4 else { throw fail("weight '\(c.weight.name)' is \(formatShape(c.weight.shape)), expected 4-D [in, out/groups, kh, kw]") }
            try checkWindow(c.window)
            guard c.groups >= 1, c.weight.shape[0] % c.groups == 0 else { throw bad("groups \(c.groups) does not divide \(c.weight.shape[0]) input channels") }
            guard x[1] == c.weight.shape[0] else {
                throw fail("input has \(x[1]) channels, weight '\(c.weight.name)' \(formatShape(c.weight.shape)) expects \(c.weight.shape[0])")
            }
            guard c.weight.shape[2] == c.window.kernelH, c.weight.shape[3] == c.window.kernelW else {
                throw fail("kernel is \(c.window.kernelH)×\(c.window.kernelW) but weight '\(c.weight.name)' is \(formatShape(c.weight.shape))")
            }
            guard c.outputPadding.h >= 0, c.outputPadding.w >= 0,
                  c.outputPadding.h < max(c.window.strideH, c.window.dilationH),
                  c.outputPadding.w < max(c.window.strideW, c.window.dilationW) else {
                throw bad("output padding \(c.outputPadding.h)×\(c.outputPadding.w) must be smaller than stride or dilation")
            }
            try expectCount(c.bias, c.outChannels, "bias")
            guard c.weight.shape[1].multiplied(checked: c.groups) != nil else {
                throw .tooLarge(node: name, message: "\(c.weight.shape[1]) output channels per group × \(c.groups) groups overflows")
            }
            guard let (h, w) = c.outputSize(inputH: x[2], inputW: x[3]) else {
                throw .tooLarge(node: name, message: "the output size of a \(x[2])×\(x[3]) input with stride \(c.window.strideH)×\(c.window.strideW), dilation \(c.window.dilationH)×\(c.window.dilationW), kernel \(c.window.kernelH)×\(c.window.kernelW) and padding overflows")
            }
            guard h > 0, w > 0 else { throw fail("the output would be \(h)×\(w)") }
            return [x[0], c.outChannels, h, w]
        case .batchNorm(let b):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard x.count >= 2 else { throw fail("BatchNorm needs a channel axis, got \(formatShape(x))") }
            try expectCount(b.runningMean, x[1], "running mean")
            try expectCount(b.runningVariance, x[1], "running variance")
            try expectCount(b.scale, x[1], "scale (γ)")
            try expectCount(b.bias, x[1], "bias (β)")
            guard (b.scale == nil) == (b.bias == nil) else { throw bad("an affine BatchNorm needs both γ and β") }
            guard b.epsilon >= 0, b.epsilon.isFinite else { throw bad("epsilon is \(b.epsilon), must be finite and ≥ 0") }
            guard b.momentum.isFinite else { throw bad("momentum is \(b.momentum), must be finite") }
            return x
        case .dropout(let d):
            try expectInputs(ins, 1)
            guard d.rate >= 0, d.rate < 1 else { throw bad("dropout rate is \(d.rate), must be in [0, 1)") }
            return ins[0]
        case .linear(let l):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard l.weight.shape.count == 2 else { throw fail("weight '\(l.weight.name)' is \(formatShape(l.weight.shape)), expected [out, in]") }
            guard x.count >= 2, x.last == l.inFeatures else {
                throw fail("input \(formatShape(x)) does not end in the \(l.inFeatures) features weight '\(l.weight.name)' takes")
            }
            try expectCount(l.bias, l.outFeatures, "bias")
            try checkReparameterization(l.reparameterization, outChannels: l.outFeatures)
            return Array(x.dropLast()) + [l.outFeatures]
        case .activation(let a):
            try expectInputs(ins, 1)
            switch a {
            case .clip(let lo, let hi):
                // Infinite bounds are how a one-sided clip is written; NaN fails the comparison.
                guard lo <= hi else { throw bad("clip bounds [\(lo), \(hi)] are empty or not numbers") }
            case .leakyRelu(let alpha):
                guard alpha.isFinite else { throw bad("LeakyReLU alpha is \(alpha), must be finite") }
            case .hardSigmoid(let alpha, let beta):
                guard alpha.isFinite, beta.isFinite else { throw bad("HardSigmoid alpha \(alpha) and beta \(beta) must be finite") }
            case .relu, .sigmoid, .tanh, .hardSwish, .silu:
                break
            }
            return ins[0]
        case .identity:
            try expectInputs(ins, 1)
            return ins[0]
        case .pool2d(let p):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard x.count == 4 else { throw fail("pooling takes NCHW input, got \(formatShape(x))") }
            try checkWindow(p.window)
            let w = p.window
            guard w.padTop < w.kernelH, w.padBottom < w.kernelH, w.padLeft < w.kernelW, w.padRight < w.kernelW else {
                throw bad("padding must be smaller than the \(w.kernelH)×\(w.kernelW) window")
            }
            guard let (h, ww) = w.outputSize(inputH: x[2], inputW: x[3], ceilMode: p.ceilMode), h > 0, ww > 0 else {
                throw fail("the \(w.kernelH)×\(w.kernelW) window does not fit the \(x[2])×\(x[3]) input")
            }
            return [x[0], x[1], h, ww]
        case .globalPool:
            try expectInputs(ins, 1)
            guard ins[0].count >= 3 else { throw fail("global pooling takes NC… input, got \(formatShape(ins[0]))") }
            return Array(ins[0].prefix(2)) + Array(repeating: 1, count: ins[0].count - 2)
        case .flatten(let axis):
            try expectInputs(ins, 1)
            let x = ins[0]
            let a = try normalizedAxis(axis, rank: x.count, allowRank: true)
            return [x[..<a].reduce(1, *), x[a...].reduce(1, *)]
        case .add:
            guard ins.count >= 2 else { throw .wrongInputCount(node: name, op: "Add", expected: "2 or more", found: ins.count) }
            for s in ins.dropFirst() where s != ins[0] {
                throw fail("Add inputs differ in shape: \(formatShape(ins[0])) and \(formatShape(s))")
            }
            return ins[0]
        case .mul:
            try expectInputs(ins, 2)
            let (x, s) = (ins[0], ins[1])
            let perChannel = s.count == x.count && x.count >= 2 && s[0] == x[0] && s[1] == x[1] && s.dropFirst(2).allSatisfy { $0 == 1 }
            guard s == x || perChannel else {
                throw fail("Mul needs same shapes or a per-channel second input [N, C, 1, 1]; got \(formatShape(x)) and \(formatShape(s))")
            }
            return x
        case .concat(let axis):
            guard !ins.isEmpty else { throw .wrongInputCount(node: name, op: "Concat", expected: "1 or more", found: 0) }
            let a = try normalizedAxis(axis, rank: ins[0].count)
            var out = ins[0]
            for s in ins.dropFirst() {
                guard s.count == out.count, s.indices.allSatisfy({ $0 == a || s[$0] == out[$0] }) else {
                    throw fail("Concat inputs \(formatShape(ins[0])) and \(formatShape(s)) differ off axis \(axis)")
                }
                guard let sum = out[a].adding(checked: s[a]) else {
                    throw .tooLarge(node: name, message: "the concatenated axis \(axis) overflows")
                }
                out[a] = sum
            }
            return out
        case .softmax(let axis):
            try expectInputs(ins, 1)
            _ = try normalizedAxis(axis, rank: ins[0].count)
            return ins[0]
        case .affine(let a):
            try expectInputs(ins, 1)
            guard ins[0].count >= 2 else { throw fail("Affine needs a channel axis, got \(formatShape(ins[0]))") }
            try expectCount(a.scale, ins[0][1], "scale")
            try expectCount(a.shift, ins[0][1], "shift")
            return ins[0]
        case .layerNorm(let n):
            try expectInputs(ins, 1)
            let a = try normalizedAxis(n.axis, rank: ins[0].count)
            try checkEpsilon(n.epsilon)
            let size = ins[0][a...].reduce(1, *)
            try expectCount(n.scale, size, "scale")
            try expectCount(n.bias, size, "bias")
            return ins[0]
        case .groupNorm(let n):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard x.count >= 3 else { throw fail("GroupNorm takes NC… input, got \(formatShape(x))") }
            guard n.groups >= 1, x[1] % n.groups == 0 else { throw bad("\(x[1]) channels do not divide into \(n.groups) groups") }
            try checkEpsilon(n.epsilon)
            try expectCount(n.scale, x[1], "scale")
            try expectCount(n.bias, x[1], "bias")
            return x
        case .instanceNorm(let n):
            try expectInputs(ins, 1)
            guard ins[0].count >= 3 else { throw fail("InstanceNorm takes NC… input, got \(formatShape(ins[0]))") }
            try checkEpsilon(n.epsilon)
            try expectCount(n.scale, ins[0][1], "scale")
            try expectCount(n.bias, ins[0][1], "bias")
            return ins[0]
        case .lrn(let l):
            try expectInputs(ins, 1)
            guard l.size >= 1 else { throw bad("LRN size is \(l.size), must be ≥ 1") }
            guard l.alpha.isFinite, l.beta.isFinite, l.bias.isFinite else {
                throw bad("LRN alpha \(l.alpha), beta \(l.beta) and bias \(l.bias) must be finite")
            }
            guard ins[0].count >= 3 else { throw fail("LRN takes NC… input, got \(formatShape(ins[0]))") }
            return ins[0]
        case .channelShuffle(let g):
            try expectInputs(ins, 1)
            guard ins[0].count >= 2, g >= 1, ins[0][1] % g == 0 else { throw bad("\(ins[0].count >= 2 ? ins[0][1] : 0) channels do not divide into \(g) groups") }
            return ins[0]
        case .resize(let r):
            try expectInputs(ins, 1)
            let x = ins[0]
            guard x.count == 4 else { throw fail("Resize takes NCHW input, got \(formatShape(x))") }
            guard r.scaleH > 0, r.scaleW > 0, r.scaleH.isFinite, r.scaleW.isFinite else {
                throw bad("scales \(r.scaleH)×\(r.scaleW) must be finite and positive")
            }
            guard let (h, w) = r.outputSize(inputH: x[2], inputW: x[3]) else {
                throw .tooLarge(node: name, message: "scaling \(x[2])×\(x[3]) by \(r.scaleH)×\(r.scaleW) gives a size past 2^53")
            }
            guard h > 0, w > 0 else { throw fail("the output would be \(h)×\(w)") }
            return [x[0], x[1], h, w]
        }
    }
}
