// One ONNX node → intermediate nodes: attributes read per opset, weights taken from constants.
import CNNGraph

struct ConvertNode {
    let importer: Importer
    let node: Onnx_NodeProto
    let name: String
    let attrs: NodeAttributes
    var op: String { node.opType }
    var opset: Int { importer.opset }

    init(importer: Importer, node: Onnx_NodeProto, name: String) {
        self.importer = importer; self.node = node; self.name = name
        attrs = NodeAttributes(node, name: name)
    }

    func fail(_ m: String) -> ONNXError { .unsupportedUsage(node: name, opType: op, message: m) }

    func inputName(_ i: Int) -> String? { i < node.input.count && !node.input[i].isEmpty ? node.input[i] : nil }

    /// A run-time input and its shape.
    func act(_ i: Int) throws(ONNXError) -> (String, [Int]) {
        guard let v = inputName(i) else { throw fail("input \(i) is required") }
        if let s = importer.shapes[v] { return (v, s) }
        if importer.consts[v] != nil {
            throw fail("input '\(v)' is a constant; this op is supported only on run-time values")
        }
        throw .missingValue(node: name, opType: op, value: v)
    }

    /// A constant input (weights, bias, statistics, scales).
    func const(_ i: Int, _ role: String) throws(ONNXError) -> ConstTensor {
        guard let c = try optConst(i, role) else { throw fail("the \(role) input is required") }
        return c
    }

    func optConst(_ i: Int, _ role: String) throws(ONNXError) -> ConstTensor? {
        guard let v = inputName(i) else { return nil }
        if let c = importer.consts[v] { return c }
        if importer.shapes[v] != nil {
            throw fail(
                "the \(role) '\(v)' is computed at run time; only constant \(role)s (initializers or constant sub-graphs) are supported"
            )
        }
        throw .missingValue(node: name, opType: op, value: v)
    }

    var output: String { node.output.first ?? "" }

    /// Refuses when an optional extra output (training statistics, masks, indices) is read.
    func requireUnused(from index: Int, _ what: String) throws(ONNXError) {
        for o in node.output.dropFirst(index) where !o.isEmpty {
            if (importer.onnxUses[o] ?? 0) > 0 {
                throw fail("output '\(o)' (\(what)) is used; cnnconv imports inference graphs only")
            }
        }
        if node.output.dropFirst(index).contains(where: { !$0.isEmpty }) {
            importer.note("\(op) outputs for \(what) are ignored (nothing reads them)")
        }
    }

    func emit(_ kind: IRKind, inputs: [String]) throws(ONNXError) {
        guard !output.isEmpty else { throw fail("the node has no output") }
        try importer.emit(name, op, kind, inputs: inputs, output: output)
    }

    func emitOp(_ o: Op, inputs: [String]) throws(ONNXError) { try emit(.op(o), inputs: inputs) }

    func tensor(_ c: ConstTensor, _ role: String, shape: [Int]? = nil, values: [Float]? = nil) -> Tensor {
        importer.tensor(c, node: name, role: role, shape: shape, values: values)
    }

    func scalar(_ c: ConstTensor?, _ role: String) throws(ONNXError) -> Float? {
        guard let c else { return nil }
        guard c.count == 1 else { throw fail("\(role) must be a scalar, has shape \(formatShape(c.shape))") }
        return c.floats[0]
    }

    // MARK: Geometry

    func pair(_ key: String, _ d: Int) throws(ONNXError) -> [Int] {
        guard let v = try geometry(key) else { return [d, d] }
        guard v.count == 2 else { throw attrs.fail(key, "has \(v.count) values; only 2-D (H, W) ops are supported") }
        return v
    }

    /// A window attribute (pads, strides, dilations, kernel or output shape), each value within
    /// ±`ImportLimits.maxDimension` so that no size computed from it can overflow.
    func geometry(_ key: String) throws(ONNXError) -> [Int]? {
        guard let v = try attrs.ints(key) else { return nil }
        guard v.count <= ImportLimits.maxRank + 2 else { throw attrs.fail(key, "has \(v.count) values") }
        for x in v where x.magnitude > UInt(ImportLimits.maxDimension) {
            throw .limitExceeded(
                node: name, opType: op, message: "attribute '\(key)' value \(x) is beyond ±\(ImportLimits.maxDimension)"
            )
        }
        return v
    }

    /// dilation·(kernel − 1) + 1, the span one output element reads, when it fits `limit`.
    func kernelExtent(_ kernel: Int, _ dilation: Int, limit: Int, axis: String) throws(ONNXError) -> Int {
        guard kernel >= 1 else { throw fail("the \(axis) kernel is \(kernel), must be ≥ 1") }
        guard let span = ImportLimits.product(dilation, kernel - 1).flatMap({ ImportLimits.sum($0, 1) }), span <= limit
        else {
            throw fail(
                "the \(axis) kernel of \(kernel) with dilation \(dilation) does not fit the padded input of \(limit)")
        }
        return span
    }

    /// Kernel, stride, dilation and padding (explicit or auto_pad) of a 2-D conv or pool.
    func window(kernel: [Int], input: [Int]) throws(ONNXError) -> Window2d {
        let strides = try pair("strides", 1), dilations = try pair("dilations", 1)
        guard strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
            throw attrs.fail("strides", "and dilations must be ≥ 1 (strides \(strides), dilations \(dilations))")
        }
        var pads = try geometry("pads") ?? [0, 0, 0, 0]
        guard pads.count == 4 else {
            throw attrs.fail("pads", "has \(pads.count) values, expected 4 (top, left, bottom, right)")
        }
        let autoPad = try attrs.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET", "": break
        case "VALID": pads = [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            for i in 0..<2 {
                let inSize = input[2 + i], s = strides[i]
                let out = (inSize + s - 1) / s
                let extent = try kernelExtent(
                    kernel[i], dilations[i], limit: ImportLimits.maxDimension, axis: i == 0 ? "height" : "width")
                let total = max((out - 1) * s + extent - inSize, 0)
                let small = total / 2, big = total - small
                pads[i] = autoPad == "SAME_UPPER" ? small : big
                pads[i + 2] = autoPad == "SAME_UPPER" ? big : small
            }
        default: throw attrs.fail("auto_pad", "'\(autoPad)' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
        }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw attrs.fail("pads", "\(pads) has a negative value") }
        for i in 0..<2 {
            // Sizes here are ≤ 2^31 each, so the padded input cannot overflow.
            _ = try kernelExtent(
                kernel[i], dilations[i], limit: input[2 + i] + pads[i] + pads[i + 2], axis: i == 0 ? "height" : "width")
        }
        return Window2d(
            kernel: (kernel[0], kernel[1]), stride: (strides[0], strides[1]), dilation: (dilations[0], dilations[1]),
            padding: (pads[0], pads[1], pads[2], pads[3]))
    }

    func require4D(_ s: [Int], _ what: String = "input") throws(ONNXError) {
        guard s.count == 4 else {
            throw fail("only 2-D \(op) on NCHW input is supported; the \(what) is \(formatShape(s))")
        }
    }

    // MARK: Conversion

    func convertBuiltIn() throws(ONNXError) {
        switch op {
        case "Conv": try conv()
        case "ConvTranspose": try convTranspose()
        case "BatchNormalization": try batchNorm()
        case "Dropout": try dropout()
        case "Relu": try emitOp(.activation(.relu), inputs: [act(0).0])
        case "Sigmoid": try emitOp(.activation(.sigmoid), inputs: [act(0).0])
        case "Tanh": try emitOp(.activation(.tanh), inputs: [act(0).0])
        case "LeakyRelu":
            try emitOp(.activation(.leakyRelu(alpha: try attrs.float("alpha", default: 0.01))), inputs: [act(0).0])
        case "HardSigmoid":
            try emitOp(
                .activation(
                    .hardSigmoid(
                        alpha: try attrs.float("alpha", default: 0.2), beta: try attrs.float("beta", default: 0.5))),
                inputs: [act(0).0])
        case "HardSwish": try emitOp(.activation(.hardSwish), inputs: [act(0).0])
        case "Clip": try clip()
        case "MaxPool", "AveragePool": try pool()
        case "GlobalAveragePool": try emitOp(.globalPool(.average), inputs: [act(0).0])
        case "GlobalMaxPool": try emitOp(.globalPool(.max), inputs: [act(0).0])
        case "Flatten":
            let (x, s) = try act(0)
            let a = try attrs.int("axis", default: 1)
            let axis = a < 0 ? a + s.count : a
            guard axis >= 0, axis <= s.count else {
                throw attrs.fail("axis", "\(a) is out of range for rank \(s.count)")
            }
            try emitOp(.flatten(axis: axis), inputs: [x])
        case "Gemm": try gemm()
        case "MatMul": try matmul()
        case "Add", "Sub", "Mul", "Div": try binary()
        case "Sum":
            var xs: [(String, [Int])] = []
            for i in node.input.indices { xs.append(try act(i)) }
            guard let first = xs.first else { throw fail("Sum has no inputs") }
            for x in xs where x.1 != first.1 {
                guard ShapeMath.broadcast(xs.map(\.1)) != nil else { throw incompatible(first.1, x.1) }
                throw fail(
                    "Sum of differently shaped inputs (\(formatShape(first.1)), \(formatShape(x.1))) is not supported")
            }
            try emitOp(xs.count == 1 ? .identity : .add, inputs: xs.map(\.0))
        case "Concat":
            var xs: [String] = []
            for i in node.input.indices where inputName(i) != nil { xs.append(try act(i).0) }
            let rank = importer.shapes[xs.first ?? ""]?.count ?? 0
            guard let a = try attrs.int("axis") else { throw attrs.fail("axis", "is required") }
            try emitOp(.concat(axis: a < 0 ? a + rank : a), inputs: xs)
        case "Softmax":
            let (x, s) = try act(0)
            let a = try attrs.int("axis", default: opset < 13 ? 1 : -1)
            let axis = a < 0 ? a + s.count : a
            guard axis >= 0, axis < s.count else {
                throw attrs.fail("axis", "\(a) is out of range for rank \(s.count)")
            }
            if opset < 13 && ShapeMath.count(Array(s[(axis + 1)...])) != 1 {
                throw fail(
                    "Softmax-\(opset) normalizes over all axes from \(axis) of \(formatShape(s)); only one axis (opset 13 semantics, or trailing axes of size 1) is supported"
                )
            }
            try emitOp(.softmax(axis: axis), inputs: [x])
        case "InstanceNormalization":
            let (x, _) = try act(0)
            let scale = try const(1, "scale"), bias = try const(2, "bias")
            try emitOp(
                .instanceNorm(
                    InstanceNorm(
                        scale: tensor(scale, "scale"), bias: tensor(bias, "bias"),
                        epsilon: Double(try attrs.float("epsilon", default: 1e-5)))), inputs: [x])
        case "LayerNormalization": try layerNorm()
        case "GroupNormalization": try groupNorm()
        case "LRN":
            guard let size = try attrs.int("size") else { throw attrs.fail("size", "is required") }
            let lrn = LRN(
                size: size, alpha: try attrs.float("alpha", default: 1e-4),
                beta: try attrs.float("beta", default: 0.75),
                bias: try attrs.float("bias", default: 1))
            try emitOp(.lrn(lrn), inputs: [act(0).0])
        case "Resize", "Upsample": try resize()
        case "Pad": try pad()
        case "Identity": try emitOp(.identity, inputs: [act(0).0])
        case "Reshape":
            let (x, s) = try act(0)
            let target = try const(1, "shape").ints
            guard
                let t = ShapeMath.reshapeTarget(
                    target, input: s, allowZero: try attrs.int("allowzero", default: 0) != 0)
            else {
                throw fail("cannot reshape \(formatShape(s)) to \(target)")
            }
            try emit(.reshape(t), inputs: [x])
            importer.reshapeSpecs[name] = target
        case "Squeeze", "Unsqueeze":
            // The definitions keep a symbolic batch (the reshape form pins sizes at the import batch).
            if let definition = TensorOps.definition(onnxType: op) { try convertTensorOp(definition); return }
            let (x, s) = try act(0)
            let axes: [Int]? = opset >= 13 ? try optConst(1, "axes")?.ints : try attrs.ints("axes")
            try emit(.reshape(try squeezeShape(s, axes: axes, unsqueeze: op == "Unsqueeze")), inputs: [x])
        case "Transpose":
            let (x, s) = try act(0)
            let perm = try attrs.ints("perm") ?? Array((0..<s.count).reversed())
            guard perm.sorted() == Array(0..<s.count) else {
                throw attrs.fail("perm", "\(perm) is not a permutation of \(s.count) axes")
            }
            try emit(.transpose(perm), inputs: [x])
        default:
            throw .unsupportedOp(node: name, opType: op, domain: node.domain, supported: ONNXImporter.supportedOps)
        }
    }

    func squeezeShape(_ s: [Int], axes: [Int]?, unsqueeze: Bool) throws(ONNXError) -> [Int] {
        var shape = s
        if unsqueeze {
            guard let axes else { throw fail("axes are required") }
            let rank = s.count + axes.count
            guard rank <= ImportLimits.maxRank else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message: "the result would have rank \(rank); at most \(ImportLimits.maxRank) is supported")
            }
            let normalized = axes.map { $0 < 0 ? $0 + rank : $0 }.sorted()
            for a in normalized {
                guard a >= 0, a < rank else { throw attrs.fail("axes", "\(axes) are out of range") }
                shape.insert(1, at: min(a, shape.count))
            }
            return shape
        }
        guard let axes else { return s.filter { $0 != 1 } }
        let normalized = Set(axes.map { $0 < 0 ? $0 + s.count : $0 })
        for a in normalized where a < 0 || a >= s.count || s[a] != 1 {
            throw fail("cannot squeeze axis \(a) of \(formatShape(s))")
        }
        return s.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
    }

    func conv() throws(ONNXError) {
        let (x, s) = try act(0)
        try require4D(s)
        let w = try const(1, "weight")
        guard w.shape.count == 4 else {
            throw fail("weight has shape \(formatShape(w.shape)); only 2-D convolution is supported")
        }
        if let k = try attrs.ints("kernel_shape"), k != Array(w.shape[2...]) {
            throw attrs.fail("kernel_shape", "\(k) disagrees with the weight's \(formatShape(w.shape))")
        }
        let bias = try optConst(2, "bias")
        let window = try window(kernel: Array(w.shape[2...]), input: s)
        let group = try attrs.int("group", default: 1)
        guard group >= 1 else { throw attrs.fail("group", "is \(group), must be ≥ 1") }
        let conv = Conv2d(
            weight: tensor(w, "weight"), bias: bias.map { tensor($0, "bias", shape: [$0.count]) }, window: window,
            groups: group)
        try emitOp(.conv2d(conv), inputs: [x])
    }

    func convTranspose() throws(ONNXError) {
        let (x, s) = try act(0)
        try require4D(s)
        let w = try const(1, "weight")
        guard w.shape.count == 4 else {
            throw fail("weight has shape \(formatShape(w.shape)); only 2-D transposed convolution is supported")
        }
        let kernel = Array(w.shape[2...])
        if let k = try attrs.ints("kernel_shape"), k != kernel {
            throw attrs.fail("kernel_shape", "\(k) disagrees with the weight's \(formatShape(w.shape))")
        }
        let bias = try optConst(2, "bias")
        let strides = try pair("strides", 1), dilations = try pair("dilations", 1)
        var outputPadding = try pair("output_padding", 0)
        guard strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
            throw attrs.fail("strides", "and dilations must be ≥ 1 (strides \(strides), dilations \(dilations))")
        }
        var pads = try geometry("pads") ?? [0, 0, 0, 0]
        guard pads.count == 4 else { throw attrs.fail("pads", "has \(pads.count) values, expected 4") }
        var extents: [Int] = []
        for i in 0..<2 {
            extents.append(
                try kernelExtent(
                    kernel[i], dilations[i], limit: ImportLimits.maxDimension, axis: i == 0 ? "height" : "width"))
        }
        let autoPad = try attrs.string("auto_pad", default: "NOTSET")
        var outputShape = try geometry("output_shape")
        if let o = outputShape, o.count > 2 { outputShape = Array(o.suffix(2)) }
        if outputShape != nil || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            for i in 0..<2 {
                // Every term is ≤ 2^31 (sizes, attributes, the kernel's extent): no overflow.
                let out = outputShape?[i] ?? s[2 + i] * strides[i]
                guard out >= 1 else { throw attrs.fail("output_shape", "\(outputShape ?? []) has a size below 1") }
                var total = strides[i] * (s[2 + i] - 1) + outputPadding[i] + extents[i] - out
                if total < 0 {
                    // A larger output than the transposed conv covers: onnxruntime (and the ONNX
                    // reference) pad nothing and leave the extra rows/columns at the bias.
                    outputPadding[i] -= total
                    total = 0
                }
                let half = total / 2
                pads[i] = autoPad == "SAME_UPPER" ? half : total - half
                pads[i + 2] = total - pads[i]
            }
        } else if autoPad == "VALID" {
            pads = [0, 0, 0, 0]
        }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw attrs.fail("pads", "\(pads) has a negative value") }
        let window = Window2d(
            kernel: (kernel[0], kernel[1]), stride: (strides[0], strides[1]), dilation: (dilations[0], dilations[1]),
            padding: (pads[0], pads[1], pads[2], pads[3]))
        let group = try attrs.int("group", default: 1)
        let conv = ConvTranspose2d(
            weight: tensor(w, "weight"), bias: bias.map { tensor($0, "bias", shape: [$0.count]) },
            window: window, groups: group, outputPadding: (outputPadding[0], outputPadding[1]))
        try emitOp(.convTranspose2d(conv), inputs: [x])
    }

    func batchNorm() throws(ONNXError) {
        let (x, _) = try act(0)
        let scale = try const(1, "scale"), bias = try const(2, "bias"), mean = try const(3, "mean"),
            variance = try const(4, "variance")
        if opset < 9, try attrs.int("spatial", default: 1) != 1 {
            throw attrs.fail(
                "spatial", "is 0 (per-activation statistics); only spatial BatchNormalization is supported")
        }
        if try attrs.int("training_mode", default: 0) != 0 {
            throw attrs.fail("training_mode", "is 1: the node computes batch statistics; export the model in eval mode")
        }
        try requireUnused(from: 1, "training statistics")
        let epsilon = try attrs.float("epsilon", default: 1e-5)
        let momentum = try attrs.float("momentum", default: 0.9)
        for (c, role) in [(scale, "scale"), (bias, "bias"), (mean, "mean"), (variance, "variance")]
        where c.shape.count > 1 {
            throw fail("\(role) has shape \(formatShape(c.shape)); expected one value per channel")
        }
        // ONNX momentum weighs the old running value; PyTorch's (ours) weighs the new one.
        let bn = BatchNorm(
            scale: tensor(scale, "scale"), bias: tensor(bias, "bias"), runningMean: tensor(mean, "running_mean"),
            runningVariance: tensor(variance, "running_variance"), epsilon: Double(epsilon),
            momentum: 1 - Double(momentum))
        try emitOp(.batchNorm(bn), inputs: [x])
    }

    func dropout() throws(ONNXError) {
        let (x, _) = try act(0)
        var ratio: Float = 0.5
        if opset < 12 {
            ratio = try attrs.float("ratio", default: 0.5)
        } else {
            if let r = try scalar(try optConst(1, "ratio"), "ratio") { ratio = r }
            if let t = try scalar(try optConst(2, "training_mode"), "training_mode"), t != 0 {
                importer.note(
                    "Dropout '\(name)': training_mode=true is ignored; the graph keeps the dropout and runs it as the identity at inference"
                )
            }
        }
        guard ratio >= 0, ratio < 1 else { throw attrs.fail("ratio", "is \(ratio), must be in [0, 1)") }
        try requireUnused(from: 1, "the dropout mask")
        try emitOp(.dropout(Dropout(rate: Double(ratio), convention: .inverted, granularity: .element)), inputs: [x])
    }

    func clip() throws(ONNXError) {
        let (x, _) = try act(0)
        var lo = -Float.infinity, hi = Float.infinity
        if opset < 11 {
            if let v = try attrs.float("min"), v > -Float.greatestFiniteMagnitude { lo = v }
            if let v = try attrs.float("max"), v < Float.greatestFiniteMagnitude { hi = v }
        } else {
            if let v = try scalar(try optConst(1, "min"), "min") { lo = v }
            if let v = try scalar(try optConst(2, "max"), "max") { hi = v }
        }
        guard !lo.isNaN, !hi.isNaN else { throw fail("min \(lo) or max \(hi) is not a number") }
        if lo > hi {
            // ONNX defines Clip as min(max(x, min), max): every element is max.
            importer.note("Clip '\(name)': min \(lo) is above max \(hi); every element is max, as ONNX defines")
            lo = hi
        }
        try emitOp(.activation(lo == 0 && hi == .infinity ? .relu : .clip(min: lo, max: hi)), inputs: [x])
    }

    func pool() throws(ONNXError) {
        let (x, s) = try act(0)
        try require4D(s)
        guard let kernel = try geometry("kernel_shape"), kernel.count == 2, kernel.allSatisfy({ $0 >= 1 }) else {
            throw attrs.fail("kernel_shape", "must hold 2 values ≥ 1 (2-D pooling)")
        }
        let window = try window(kernel: kernel, input: s)
        let ceil = try attrs.int("ceil_mode", default: 0) != 0
        if op == "MaxPool" {
            try requireUnused(from: 1, "the argmax indices")
            try emitOp(.pool2d(Pool2d(kind: .max, window: window, ceilMode: ceil)), inputs: [x])
        } else {
            let include = try attrs.int("count_include_pad", default: 0) != 0
            if include && ceil && opset < 19 {
                importer.note(
                    "AveragePool '\(name)' (opset \(opset)) with ceil_mode and count_include_pad is imported with the ONNX spec's divisor (taps inside the padded input); onnxruntime before opset 19 divides by the kernel size"
                )
            }
            try emitOp(
                .pool2d(Pool2d(kind: .average, window: window, ceilMode: ceil, countIncludePad: include)), inputs: [x])
        }
    }

    func gemm() throws(ONNXError) {
        let (x, s) = try act(0)
        guard s.count == 2 else { throw fail("input A is \(formatShape(s)); Gemm takes 2-D input") }
        if try attrs.int("transA", default: 0) != 0 {
            throw attrs.fail("transA", "is 1; only an untransposed run-time input A is supported")
        }
        let b = try const(1, "weight")
        guard b.shape.count == 2 else { throw fail("B has shape \(formatShape(b.shape)), expected 2-D") }
        let transB = try attrs.int("transB", default: 0) != 0
        let alpha = try attrs.float("alpha", default: 1), beta = try attrs.float("beta", default: 1)
        let (out, inF) = transB ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
        guard inF == s[1] else {
            throw fail(
                "A is \(formatShape(s)) but B \(formatShape(b.shape)) (transB=\(transB ? 1 : 0)) takes \(inF) features")
        }
        var w = b.floats
        if !transB {
            w =
                ConstTensor(shape: b.shape, floats: w).gathering(
                    ShapeMath.transposeIndices(b.shape, perm: [1, 0]).0, shape: [out, inF]
                ).floats
        }
        if alpha != 1 { w = w.map { $0 * alpha } }
        var bias: Tensor? = nil
        if let c = try optConst(2, "bias") {
            guard let values = perFeature(c, features: out, rank: 2) else {
                throw fail(
                    "C has shape \(formatShape(c.shape)); only a bias broadcast over the batch ([\(out)], [1, \(out)] or a scalar) is supported"
                )
            }
            bias = tensor(c, "bias", shape: [out], values: beta == 1 ? values : values.map { $0 * beta })
        }
        try emitOp(.linear(Linear(weight: tensor(b, "weight", shape: [out, inF], values: w), bias: bias)), inputs: [x])
    }

    /// `c`'s values expanded to `features` when it varies only along the last of `rank` axes.
    func perFeature(_ c: ConstTensor, features: Int, rank: Int) -> [Float]? {
        guard c.shape.count <= rank else { return nil }
        let padded = [Int](repeating: 1, count: rank - c.shape.count) + c.shape
        guard padded.dropLast().allSatisfy({ $0 == 1 }), let last = padded.last, last == 1 || last == features else {
            return nil
        }
        return last == 1 ? [Float](repeating: c.floats[0], count: features) : c.floats
    }

    func matmul() throws(ONNXError) {
        let (x, s) = try act(0)
        let b = try const(1, "weight")
        guard s.count >= 2 else { throw fail("input is \(formatShape(s)); MatMul needs 2-D or higher input") }
        guard b.shape.count == 2, b.shape[0] == s.last else {
            throw fail(
                "B has shape \(formatShape(b.shape)); only a constant 2-D [\(s.last ?? 0), M] right operand is supported"
            )
        }
        let (inF, out) = (b.shape[0], b.shape[1])
        let w = b.gathering(ShapeMath.transposeIndices(b.shape, perm: [1, 0]).0, shape: [out, inF]).floats
        try emitOp(.linear(Linear(weight: tensor(b, "weight", shape: [out, inF], values: w))), inputs: [x])
    }

    /// Two run-time operands whose shapes do not broadcast at all (as onnxruntime reports them).
    func incompatible(_ a: [Int], _ b: [Int]) -> ONNXError {
        fail("shapes \(formatShape(a)) and \(formatShape(b)) are incompatible: they do not broadcast")
    }

    func binary() throws(ONNXError) {
        guard let a = inputName(0), let b = inputName(1) else { throw fail("\(op) takes two inputs") }
        let ca = importer.consts[a], cb = importer.consts[b]
        let kind = BinaryKind(rawValue: op)!
        if ca == nil && cb == nil {
            let (_, sa) = try act(0), (_, sb) = try act(1)
            func perChannel(_ small: [Int], _ big: [Int]) -> Bool {
                small.count == big.count && big.count >= 2 && small[0] == big[0] && small[1] == big[1]
                    && small.dropFirst(2).allSatisfy { $0 == 1 }
            }
            switch kind {
            case .add:
                guard sa == sb else {
                    guard ShapeMath.broadcast([sa, sb]) != nil else { throw incompatible(sa, sb) }
                    throw fail(
                        "adding \(formatShape(sa)) and \(formatShape(sb)) needs broadcasting; only same-shaped run-time inputs are supported"
                    )
                }
                try emitOp(.add, inputs: [a, b])
            case .mul:
                if sa == sb || perChannel(sb, sa) {
                    try emitOp(.mul, inputs: [a, b])
                } else if perChannel(sa, sb) {
                    try emitOp(.mul, inputs: [b, a])
                } else {
                    guard ShapeMath.broadcast([sa, sb]) != nil else { throw incompatible(sa, sb) }
                    throw fail(
                        "multiplying \(formatShape(sa)) by \(formatShape(sb)) is not supported; only same shapes or a per-channel [N, C, 1, 1] factor are"
                    )
                }
            case .sub, .div:
                throw fail("\(op) of two run-time values is not supported (only by a constant)")
            }
            return
        }
        let constFirst = ca != nil
        let c = (ca ?? cb)!
        let (x, s) = try act(constFirst ? 1 : 0)
        if constFirst && kind == .div { throw fail("dividing a constant by a run-time value is not supported") }
        guard ShapeMath.broadcast([s, c.shape]) == s else {
            guard ShapeMath.broadcast([s, c.shape]) != nil else { throw incompatible(s, c.shape) }
            throw fail(
                "the constant of shape \(formatShape(c.shape)) broadcasts \(formatShape(s)) to a different shape")
        }
        try emit(.constBinary(kind, c, constFirst: constFirst), inputs: [x])
    }

    func layerNorm() throws(ONNXError) {
        let (x, s) = try act(0)
        let a = try attrs.int("axis", default: -1)
        let axis = a < 0 ? a + s.count : a
        guard axis >= 0, axis < s.count else { throw attrs.fail("axis", "\(a) is out of range for rank \(s.count)") }
        try requireUnused(from: 1, "mean and inverse standard deviation")
        let normalized = Array(s[axis...])
        func expand(_ c: ConstTensor?, _ role: String) throws(ONNXError) -> Tensor? {
            guard let c else { return nil }
            if c.count == ShapeMath.count(normalized) { return tensor(c, role) }
            guard ShapeMath.broadcast([normalized, c.shape]) == normalized else {
                throw fail(
                    "\(role) of shape \(formatShape(c.shape)) does not broadcast to the normalized shape \(formatShape(normalized))"
                )
            }
            try importer.checkExpansion(ShapeMath.count(normalized), node: name, opType: op, what: role)
            let v = c.gathering(ShapeMath.broadcastIndices(from: c.shape, to: normalized), shape: normalized)
            return tensor(c, role, shape: normalized, values: v.floats)
        }
        let ln = LayerNorm(
            scale: try expand(try const(1, "scale"), "scale"), bias: try expand(try optConst(2, "bias"), "bias"),
            epsilon: Double(try attrs.float("epsilon", default: 1e-5)), axis: axis)
        try emitOp(.layerNorm(ln), inputs: [x])
    }

    func groupNorm() throws(ONNXError) {
        let (x, s) = try act(0)
        guard let groups = try attrs.int("num_groups") else { throw attrs.fail("num_groups", "is required") }
        guard s.count >= 3, groups >= 1, s[1] % groups == 0 else {
            throw fail("\(s.count >= 2 ? s[1] : 0) channels do not divide into \(groups) groups")
        }
        let channels = s[1]
        func perChannel(_ c: ConstTensor, _ role: String) throws(ONNXError) -> Tensor {
            if c.count == channels && (opset >= 21 || channels == groups) { return tensor(c, role, shape: [channels]) }
            if opset < 21 && c.count == groups {
                try importer.checkExpansion(channels, node: name, opType: op, what: role)
                // GroupNormalization-18: one value per group; repeat it over the group's channels.
                let v = c.floats
                importer.note("GroupNormalization-\(opset) '\(name)': per-group scale/bias expanded to per-channel")
                return tensor(c, role, shape: [channels], values: (0..<channels).map { v[$0 / (channels / groups)] })
            }
            throw fail(
                "\(role) has \(c.count) values; GroupNormalization-\(opset) expects \(opset >= 21 ? channels : groups)")
        }
        let gn = GroupNorm(
            groups: groups, scale: try perChannel(try const(1, "scale"), "scale"),
            bias: try perChannel(try const(2, "bias"), "bias"),
            epsilon: Double(try attrs.float("epsilon", default: 1e-5)))
        try emitOp(.groupNorm(gn), inputs: [x])
    }

    func resize() throws(ONNXError) {
        let (x, s) = try act(0)
        try require4D(s)
        let modeName = try attrs.string("mode", default: "nearest")
        let mode: Resize.Mode
        switch modeName {
        case "nearest": mode = .nearest
        case "linear", "bilinear": mode = .bilinear
        case "cubic" where op == "Resize" && opset >= 11: mode = .cubic
        default: throw attrs.fail("mode", "'\(modeName)' is not supported (nearest, linear and cubic are)")
        }
        var options = Resize(mode: mode, scaleH: 1, scaleW: 1)
        var roundsOutputSize = false
        var transform = Resize.CoordinateTransform.asymmetric
        var rounding = Resize.NearestRounding.floor
        var scales: [Float]? = nil
        var sizes: [Int]? = nil
        var exactScales: (Double, Double)? = nil
        if op == "Upsample" || opset < 11 {
            // Upsample and Resize-10: asymmetric coordinates, nearest rounds down.
            if op == "Upsample" && opset < 9 {
                scales = try attrs.floats("scales")
            } else {
                scales = try optConst(1, "scales")?.floats
            }
        } else {
            let ctm = try attrs.string("coordinate_transformation_mode", default: "half_pixel")
            // Resize-11..: the transform is read before the inputs it decides on (roi).
            guard let t = Resize.CoordinateTransform(rawValue: ctm), t != .halfPixelSymmetric || opset >= 19 else {
                throw attrs.fail("coordinate_transformation_mode", "'\(ctm)' is not an ONNX Resize-\(opset) mode")
            }
            transform = t
            let nm = try attrs.string("nearest_mode", default: "round_prefer_floor")
            guard let r = Resize.NearestRounding(rawValue: nm) else {
                throw attrs.fail("nearest_mode", "'\(nm)' is not supported")
            }
            rounding = r
            if try attrs.int("antialias", default: 0) != 0 {
                guard mode != .nearest else { throw attrs.fail("antialias", "is 1; nearest mode has no antialiasing") }
                options.antialias = true
            }
            options.cubicCoefficient = Double(try attrs.float("cubic_coeff_a", default: -0.75))
            options.excludeOutside = try attrs.int("exclude_outside", default: 0) != 0
            let sc = try optConst(2, "scales")
            if let sc, sc.count > 0 { scales = sc.floats }
            if let sz = try optConst(3, "sizes"), sz.count > 0 { sizes = sz.ints }
            var roi: [Float]? = nil
            if t == .tfCropAndResize {
                guard let r = try optConst(1, "roi") else { throw fail("tf_crop_and_resize needs the roi input") }
                roi = r.floats
                options.extrapolationValue = Double(try attrs.float("extrapolation_value", default: 0))
            }
            // axes: the listed axes' values in their order; the others are not resized.
            var axes = [0, 1, 2, 3]
            if let a = try attrs.ints("axes") {
                axes = a.map { $0 < 0 ? $0 + 4 : $0 }
                guard axes.count == Set(axes).count, axes.allSatisfy({ (0..<4).contains($0) }) else {
                    throw attrs.fail("axes", "\(a) must name distinct axes of the 4-D input")
                }
            }
            func spread<V>(_ v: [V]?, _ whole: [V], _ what: String) throws(ONNXError) -> [V]? {
                guard let v else { return nil }
                guard v.count == axes.count else {
                    throw fail("\(what) has \(v.count) values for the \(axes.count) axes \(axes)")
                }
                var out = whole
                for (k, a) in axes.enumerated() { out[a] = v[k] }
                return out
            }
            scales = try spread(scales, [1, 1, 1, 1], "scales")
            sizes = try spread(sizes, s, "sizes")
            if let r = roi {
                guard r.count == 2 * axes.count else {
                    throw fail("roi has \(r.count) values; expected \(2 * axes.count) (starts, then ends)")
                }
                let starts = try spread(Array(r[..<axes.count]), [0, 0, 0, 0], "roi") ?? [],
                    ends = try spread(Array(r[axes.count...]), [1, 1, 1, 1], "roi") ?? []
                guard starts[0] == 0, starts[1] == 0, ends[0] == 1, ends[1] == 1 else {
                    throw fail("roi \(r) crops N or C; only H and W can be cropped")
                }
                options.crop = [starts[2], starts[3], ends[2], ends[3]].map { Double($0) }
            }
            let policy = try attrs.string("keep_aspect_ratio_policy", default: "stretch")
            if let sz = sizes, policy != "stretch" {
                // One scale for the listed axes (all four without `axes`): the smaller or larger of
                // size/in over them; sizes rounded half up from it.
                guard policy == "not_larger" || policy == "not_smaller" else {
                    throw attrs.fail(
                        "keep_aspect_ratio_policy", "'\(policy)' is not stretch, not_larger or not_smaller")
                }
                guard s[2] >= 1, s[3] >= 1, sz[0] == s[0], sz[1] == s[1] else {
                    throw fail("sizes \(sz) must keep N and C of \(formatShape(s)) (resize H and W only)")
                }
                let ratios = axes.map { Double(sz[$0]) / Double(s[$0]) }
                let one = (policy == "not_larger" ? ratios.min() : ratios.max()) ?? 1
                guard one == 1 || (!axes.contains(0) && !axes.contains(1)) else {
                    throw fail("keep_aspect_ratio_policy \(policy) scales N and C by \(one) (resize H and W only)")
                }
                exactScales = (axes.contains(2) ? one : 1, axes.contains(3) ? one : 1)
                roundsOutputSize = true
                sizes = nil
            }
        }
        var scaleH: Double, scaleW: Double
        if let exactScales {
            (scaleH, scaleW) = exactScales
        } else if let scales {
            guard scales.count == 4, scales[0] == 1, scales[1] == 1 else {
                throw fail("scales \(scales) must be [1, 1, h, w] (resize H and W only)")
            }
            scaleH = Double(scales[2]); scaleW = Double(scales[3])
        } else if let sizes {
            guard sizes.count == 4, sizes[0] == s[0], sizes[1] == s[1], sizes[2] > 0, sizes[3] > 0,
                sizes[2] <= ImportLimits.maxDimension, sizes[3] <= ImportLimits.maxDimension
            else {
                throw fail("sizes \(sizes) must keep N and C of \(formatShape(s)) (resize H and W only)")
            }
            guard s[2] >= 1, s[3] >= 1 else { throw fail("cannot resize the empty input \(formatShape(s))") }
            // out/in, nudged up until floor(in · scale) gives exactly `out`.
            func scale(_ out: Int, _ inSize: Int) -> Double {
                var v = Double(out) / Double(inSize)
                while Int((Double(inSize) * v).rounded(.down)) < out { v = v.nextUp }
                return v
            }
            scaleH = scale(sizes[2], s[2]); scaleW = scale(sizes[3], s[3])
        } else {
            throw fail("neither scales nor sizes is given")
        }
        for (scale, size) in [(scaleH, s[2]), (scaleW, s[3])] {
            guard size >= 1 else { throw fail("cannot resize the empty input \(formatShape(s))") }
            guard scale.isFinite, scale > 0 else { throw fail("scales must be finite and positive, not \(scale)") }
            guard Double(size) * scale <= Double(ImportLimits.maxDimension) else {
                throw .limitExceeded(
                    node: name, opType: op,
                    message: "scaling \(formatShape(s)) by \(scale) gives a side above \(ImportLimits.maxDimension)")
            }
        }
        // nearest_mode only matters in nearest mode; torch writes nearest_mode="floor" on bilinear
        // Resizes too. Keep the default there so an exported-and-reimported graph is the same.
        if mode != .nearest { rounding = .roundPreferFloor }
        options.scaleH = scaleH; options.scaleW = scaleW
        options.coordinateTransform = transform; options.nearestRounding = rounding
        options.roundsOutputSize = roundsOutputSize
        if mode != .cubic { options.cubicCoefficient = -0.75 }
        try emitOp(.resize(options), inputs: [x])
    }

    func pad() throws(ONNXError) {
        let (x, s) = try act(0)
        let mode = try attrs.string("mode", default: "constant")
        guard mode == "constant" else { throw attrs.fail("mode", "is '\(mode)'; only constant padding is supported") }
        var pads: [Int], value: Float = 0
        var axes = Array(0..<s.count)
        if opset < 11 {
            let named = try attrs.ints("pads"), legacy = try attrs.ints("paddings")
            guard let p = named ?? legacy else { throw attrs.fail("pads", "is required") }
            pads = p
            value = try attrs.float("value", default: 0)
        } else {
            pads = try const(1, "pads").ints
            if let v = try scalar(try optConst(2, "constant_value"), "constant_value") { value = v }
            if let a = try optConst(3, "axes") { axes = a.ints.map { $0 < 0 ? $0 + s.count : $0 } }
        }
        guard pads.count == 2 * axes.count, axes.allSatisfy({ $0 >= 0 && $0 < s.count }) else {
            throw fail("pads \(pads) do not match the \(axes.count) padded axes of \(formatShape(s))")
        }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw fail("negative pads \(pads) (cropping) are not supported") }
        guard pads.allSatisfy({ $0 <= ImportLimits.maxDimension }) else {
            throw .limitExceeded(
                node: name, opType: op, message: "pads \(pads) are beyond \(ImportLimits.maxDimension)")
        }
        var begin = [Int](repeating: 0, count: s.count), end = begin
        for (k, a) in axes.enumerated() { begin[a] = pads[k]; end[a] = pads[k + axes.count] }
        try emit(.pad(begin: begin, end: end, value: value), inputs: [x])
    }
}
