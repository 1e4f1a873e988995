// The operations a graph carries, one enum case each, with typed attributes and parameters.

/// Spatial geometry of convolutions and pools. Padding may be asymmetric.
public struct Window2d: Sendable, Equatable, Hashable {
    public var kernel: (h: Int, w: Int) { (kernelH, kernelW) }
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var dilationH: Int, dilationW: Int
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(kernel: (Int, Int), stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
                padding: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0)) {
        kernelH = kernel.0; kernelW = kernel.1
        strideH = stride.0; strideW = stride.1
        dilationH = dilation.0; dilationW = dilation.1
        padTop = padding.top; padLeft = padding.left; padBottom = padding.bottom; padRight = padding.right
    }

    /// Square kernel `k`, stride `s`, symmetric padding `p`.
    public init(k: Int, s: Int = 1, p: Int = 0, d: Int = 1) {
        self.init(kernel: (k, k), stride: (s, s), dilation: (d, d), padding: (p, p, p, p))
    }

    public var hasPadding: Bool { padTop != 0 || padLeft != 0 || padBottom != 0 || padRight != 0 }

    /// floor((in + pads − dilation·(k−1) − 1) / stride) + 1, or with ceil mode the PyTorch/ONNX
    /// rule (the last window must start inside the input or the leading padding). nil when the
    /// window does not fit, an attribute is out of range, or a step overflows `Int`.
    public func outputSize(inputH: Int, inputW: Int, ceilMode: Bool = false) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ k: Int, _ s: Int, _ d: Int, _ p0: Int, _ p1: Int) -> Int? {
            guard s > 0, k > 0, d > 0, p0 >= 0, p1 >= 0, input >= 0,
                  let padded = input.adding(checked: p0)?.adding(checked: p1),
                  let reach = d.multiplied(checked: k - 1),
                  let span = padded.subtracting(checked: reach)?.subtracting(checked: 1) else { return nil }
            guard span >= 0 else { return nil }
            // span ≥ 0 and s ≥ 1: span + s − 1 may overflow, span / s + 1 cannot.
            let rounded = ceilMode ? span / s + (span % s == 0 ? 0 : 1) : span / s
            var out = rounded + 1
            // (out − 1)·s ≥ input + p0, by division: the product could overflow.
            let start = input + p0  // ≤ padded, so no overflow
            if ceilMode && out - 1 >= start / s + (start % s == 0 ? 0 : 1) { out -= 1 }
            return out
        }
        guard let h = one(inputH, kernelH, strideH, dilationH, padTop, padBottom),
              let w = one(inputW, kernelW, strideW, dilationW, padLeft, padRight) else { return nil }
        return (h, w)
    }
}

/// A reparameterization of a Conv2d/Linear weight, applied before use (folds into plain weights).
public enum WeightReparameterization: Sendable, Equatable {
    /// w = g · v / ‖v‖ per output channel; the op's weight holds v.
    case weightNorm(gain: Tensor)
    /// w = (v − mean) / √(var + ε) per output channel (biased variance).
    case weightStandardization(epsilon: Double)
}

public struct Conv2d: Sendable, Equatable {
    /// [outChannels, inChannels / groups, kernelH, kernelW]
    public var weight: Tensor
    public var bias: Tensor?
    public var window: Window2d
    public var groups: Int
    public var reparameterization: WeightReparameterization?

    public init(weight: Tensor, bias: Tensor? = nil, window: Window2d, groups: Int = 1,
                reparameterization: WeightReparameterization? = nil) {
        self.weight = weight; self.bias = bias; self.window = window; self.groups = groups
        self.reparameterization = reparameterization
    }
    public var outChannels: Int { weight.shape[0] }
    /// Saturates at `Int.max` for a file whose weight and groups overflow (validation refuses it).
    public var inChannels: Int { weight.shape[1].multiplied(saturating: groups) }
}

public struct ConvTranspose2d: Sendable, Equatable {
    /// [inChannels, outChannels / groups, kernelH, kernelW]
    public var weight: Tensor
    public var bias: Tensor?
    public var window: Window2d
    public var groups: Int
    public var outputPadding: (h: Int, w: Int)

    public init(weight: Tensor, bias: Tensor? = nil, window: Window2d, groups: Int = 1, outputPadding: (Int, Int) = (0, 0)) {
        self.weight = weight; self.bias = bias; self.window = window; self.groups = groups
        self.outputPadding = (outputPadding.0, outputPadding.1)
    }
    public var inChannels: Int { weight.shape[0] }
    /// Saturates at `Int.max` for a file whose weight and groups overflow (validation refuses it).
    public var outChannels: Int { weight.shape[1].multiplied(saturating: groups) }

    public static func == (a: ConvTranspose2d, b: ConvTranspose2d) -> Bool {
        a.weight == b.weight && a.bias == b.bias && a.window == b.window && a.groups == b.groups
            && a.outputPadding.h == b.outputPadding.h && a.outputPadding.w == b.outputPadding.w
    }

    /// (in − 1)·stride − pads + dilation·(k − 1) + outputPadding + 1; nil when a step overflows
    /// `Int` (a stride of 2^32 − 1 on a wide input does).
    public func outputSize(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ s: Int, _ p0: Int, _ p1: Int, _ d: Int, _ k: Int, _ extra: Int) -> Int? {
            guard let stretched = (input - 1).multiplied(checked: s),
                  let reach = d.multiplied(checked: k - 1),
                  let out = stretched.subtracting(checked: p0)?.subtracting(checked: p1)?.adding(checked: reach)?
                    .adding(checked: extra)?.adding(checked: 1) else { return nil }
            return out
        }
        guard let h = one(inputH, window.strideH, window.padTop, window.padBottom, window.dilationH, window.kernelH, outputPadding.h),
              let w = one(inputW, window.strideW, window.padLeft, window.padRight, window.dilationW, window.kernelW, outputPadding.w)
        else { return nil }
        return (h, w)
    }
}

/// Inference: y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1).
public struct BatchNorm: Sendable, Equatable {
    public var scale: Tensor?          // γ; nil when not affine
    public var bias: Tensor?           // β; nil when not affine
    public var runningMean: Tensor
    public var runningVariance: Tensor
    public var epsilon: Double
    public var momentum: Double
    public var numBatchesTracked: UInt64

    public init(scale: Tensor?, bias: Tensor?, runningMean: Tensor, runningVariance: Tensor,
                epsilon: Double = 1e-5, momentum: Double = 0.1, numBatchesTracked: UInt64 = 0) {
        self.scale = scale; self.bias = bias; self.runningMean = runningMean; self.runningVariance = runningVariance
        self.epsilon = epsilon; self.momentum = momentum; self.numBatchesTracked = numBatchesTracked
    }
    public var affine: Bool { scale != nil }
    public var channels: Int { runningMean.count }
}

public struct Dropout: Sendable, Equatable {
    public enum Convention: String, Sendable { case inverted, classic }
    public enum Granularity: String, Sendable { case element, channel }
    /// Probability of dropping a unit, in [0, 1).
    public var rate: Double
    public var convention: Convention
    public var granularity: Granularity
    public init(rate: Double, convention: Convention = .inverted, granularity: Granularity = .element) {
        self.rate = rate; self.convention = convention; self.granularity = granularity
    }
    public var keepProbability: Double { 1 - rate }
}

public struct Linear: Sendable, Equatable {
    /// [outFeatures, inFeatures]
    public var weight: Tensor
    public var bias: Tensor?
    public var reparameterization: WeightReparameterization?
    public init(weight: Tensor, bias: Tensor? = nil, reparameterization: WeightReparameterization? = nil) {
        self.weight = weight; self.bias = bias; self.reparameterization = reparameterization
    }
    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape.count > 1 ? weight.shape[1] : 0 }
}

public enum Activation: Sendable, Equatable {
    case relu
    case clip(min: Float, max: Float)
    case leakyRelu(alpha: Float)
    case sigmoid
    case tanh
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
    case silu

    /// f(a·x) = a·f(x) for a > 0: a positive scale passes through it unchanged.
    public var isPositivelyHomogeneous: Bool {
        switch self {
        case .relu, .leakyRelu: return true
        default: return false
        }
    }
}

public enum PoolKind: String, Sendable { case max, average }

public struct Pool2d: Sendable, Equatable {
    public var kind: PoolKind
    public var window: Window2d
    public var ceilMode: Bool
    public var countIncludePad: Bool
    public init(kind: PoolKind, window: Window2d, ceilMode: Bool = false, countIncludePad: Bool = false) {
        self.kind = kind; self.window = window; self.ceilMode = ceilMode; self.countIncludePad = countIncludePad
    }
}

/// y = scale·x + shift per channel (axis 1).
public struct Affine: Sendable, Equatable {
    public var scale: Tensor
    public var shift: Tensor
    public init(scale: Tensor, shift: Tensor) { self.scale = scale; self.shift = shift }
    public var channels: Int { scale.count }
}

/// Normalizes over axes [axis, rank).
public struct LayerNorm: Sendable, Equatable {
    public var scale: Tensor?
    public var bias: Tensor?
    public var epsilon: Double
    public var axis: Int
    public init(scale: Tensor?, bias: Tensor?, epsilon: Double = 1e-5, axis: Int) {
        self.scale = scale; self.bias = bias; self.epsilon = epsilon; self.axis = axis
    }
}

public struct GroupNorm: Sendable, Equatable {
    public var groups: Int
    public var scale: Tensor?   // per channel
    public var bias: Tensor?
    public var epsilon: Double
    public init(groups: Int, scale: Tensor?, bias: Tensor?, epsilon: Double = 1e-5) {
        self.groups = groups; self.scale = scale; self.bias = bias; self.epsilon = epsilon
    }
}

public struct InstanceNorm: Sendable, Equatable {
    public var scale: Tensor?   // per channel
    public var bias: Tensor?
    public var epsilon: Double
    public init(scale: Tensor?, bias: Tensor?, epsilon: Double = 1e-5) {
        self.scale = scale; self.bias = bias; self.epsilon = epsilon
    }
}

/// Local response normalization across channels (AlexNet, ONNX LRN):
/// y = x / (bias + alpha/size · Σ x²)^beta over `size` neighbouring channels.
public struct LRN: Sendable, Equatable {
    public var size: Int
    public var alpha: Float
    public var beta: Float
    public var bias: Float
    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, bias: Float = 1) {
        self.size = size; self.alpha = alpha; self.beta = beta; self.bias = bias
    }
}

public struct Resize: Sendable, Equatable {
    public enum Mode: String, Sendable { case nearest, bilinear }
    public enum CoordinateTransform: String, Sendable { case halfPixel = "half_pixel", asymmetric, alignCorners = "align_corners", pytorchHalfPixel = "pytorch_half_pixel" }
    public enum NearestRounding: String, Sendable { case floor, roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", ceil }
    public var mode: Mode
    public var scaleH: Double
    public var scaleW: Double
    public var coordinateTransform: CoordinateTransform
    public var nearestRounding: NearestRounding
    public init(mode: Mode, scaleH: Double, scaleW: Double, coordinateTransform: CoordinateTransform = .halfPixel,
                nearestRounding: NearestRounding = .roundPreferFloor) {
        self.mode = mode; self.scaleH = scaleH; self.scaleW = scaleW
        self.coordinateTransform = coordinateTransform; self.nearestRounding = nearestRounding
    }
    /// floor(in·scale) per axis; nil when a scale is not finite and positive or the size would
    /// not fit an `Int` exactly (above 2^53).
    public func outputSize(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ scale: Double) -> Int? {
            guard scale.isFinite, scale > 0 else { return nil }
            let v = (Double(input) * scale).rounded(.down)
            guard v.isFinite, abs(v) <= 9_007_199_254_740_992 else { return nil }
            return Int(exactly: v)
        }
        guard let h = one(inputH, scaleH), let w = one(inputW, scaleW) else { return nil }
        return (h, w)
    }
}

/// One operation of a graph.
public enum Op: Sendable, Equatable {
    case conv2d(Conv2d)
    case convTranspose2d(ConvTranspose2d)
    case batchNorm(BatchNorm)
    case dropout(Dropout)
    case linear(Linear)
    case activation(Activation)
    case pool2d(Pool2d)
    case globalPool(PoolKind)
    /// To 2-D as ONNX does: [d0·…·d(axis−1), d(axis)·…·d(rank−1)].
    case flatten(axis: Int)
    /// Sum of two or more same-shaped inputs.
    case add
    /// x · s, s same-shaped or [N, C, 1, 1] against [N, C, H, W].
    case mul
    case concat(axis: Int)
    case softmax(axis: Int)
    case affine(Affine)
    case layerNorm(LayerNorm)
    case groupNorm(GroupNorm)
    case instanceNorm(InstanceNorm)
    case lrn(LRN)
    case channelShuffle(groups: Int)
    case resize(Resize)
    case identity
    /// A general tensor op (Slice, MatMul, broadcasting arithmetic, …): its kind's
    /// `TensorOpDefinition` in TensorOps/ says everything about it.
    case tensor(TensorOp)

    /// The op's kind as a short name ("Conv2d", "BatchNorm"), for reports.
    public var kindName: String {
        switch self {
        case .conv2d(let c): return c.groups > 1 && c.groups == c.inChannels ? "DepthwiseConv2d" : "Conv2d"
        case .convTranspose2d: return "ConvTranspose2d"
        case .batchNorm: return "BatchNorm"
        case .dropout: return "Dropout"
        case .linear: return "Linear"
        case .activation(let a):
            switch a {
            case .relu: return "ReLU"
            case .clip(let lo, let hi): return lo == 0 && hi == 6 ? "ReLU6" : "Clip"
            case .leakyRelu: return "LeakyReLU"
            case .sigmoid: return "Sigmoid"
            case .tanh: return "Tanh"
            case .hardSigmoid: return "HardSigmoid"
            case .hardSwish: return "HardSwish"
            case .silu: return "SiLU"
            }
        case .pool2d(let p): return p.kind == .max ? "MaxPool2d" : "AvgPool2d"
        case .globalPool(let k): return k == .max ? "GlobalMaxPool" : "GlobalAvgPool"
        case .flatten: return "Flatten"
        case .add: return "Add"
        case .mul: return "Mul"
        case .concat: return "Concat"
        case .softmax: return "Softmax"
        case .affine: return "Affine"
        case .layerNorm: return "LayerNorm"
        case .groupNorm: return "GroupNorm"
        case .instanceNorm: return "InstanceNorm"
        case .lrn: return "LRN"
        case .channelShuffle: return "ChannelShuffle"
        case .resize: return "Resize"
        case .identity: return "Identity"
        case .tensor(let t): return t.kind
        }
    }

    /// Every parameter tensor of the op, with its role ("weight", "running_variance").
    public var parameters: [(role: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        func add(_ role: String, _ t: Tensor?) { if let t { out.append((role, t)) } }
        switch self {
        case .conv2d(let c):
            add("weight", c.weight); add("bias", c.bias)
            if case .weightNorm(let g) = c.reparameterization { add("weight_gain", g) }
        case .convTranspose2d(let c): add("weight", c.weight); add("bias", c.bias)
        case .batchNorm(let b):
            add("scale", b.scale); add("bias", b.bias); add("running_mean", b.runningMean); add("running_variance", b.runningVariance)
        case .linear(let l):
            add("weight", l.weight); add("bias", l.bias)
            if case .weightNorm(let g) = l.reparameterization { add("weight_gain", g) }
        case .affine(let a): add("scale", a.scale); add("shift", a.shift)
        case .layerNorm(let n): add("scale", n.scale); add("bias", n.bias)
        case .groupNorm(let n): add("scale", n.scale); add("bias", n.bias)
        case .instanceNorm(let n): add("scale", n.scale); add("bias", n.bias)
        case .tensor(let t): for (position, c) in t.constants { add("operand\(position)", c) }
        case .dropout, .activation, .pool2d, .globalPool, .flatten, .add, .mul, .concat, .softmax, .lrn, .channelShuffle,
             .resize, .identity:
            break
        }
        return out
    }

    /// Calls `transform` on every parameter tensor and stores what it returns (storage
    /// changes, renames); shapes must not change.
    public mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        func map(_ t: inout Tensor) throws { t = try transform(t) }
        func map(_ t: inout Tensor?) throws { if let v = t { t = try transform(v) } }
        func map(_ r: inout WeightReparameterization?) throws {
            if case .weightNorm(let g) = r { r = .weightNorm(gain: try transform(g)) }
        }
        switch self {
        case .conv2d(var c): try map(&c.weight); try map(&c.bias); try map(&c.reparameterization); self = .conv2d(c)
        case .convTranspose2d(var c): try map(&c.weight); try map(&c.bias); self = .convTranspose2d(c)
        case .batchNorm(var b):
            try map(&b.scale); try map(&b.bias); try map(&b.runningMean); try map(&b.runningVariance); self = .batchNorm(b)
        case .linear(var l): try map(&l.weight); try map(&l.bias); try map(&l.reparameterization); self = .linear(l)
        case .affine(var a): try map(&a.scale); try map(&a.shift); self = .affine(a)
        case .layerNorm(var n): try map(&n.scale); try map(&n.bias); self = .layerNorm(n)
        case .groupNorm(var n): try map(&n.scale); try map(&n.bias); self = .groupNorm(n)
        case .instanceNorm(var n): try map(&n.scale); try map(&n.bias); self = .instanceNorm(n)
        case .tensor(var t):
            for i in t.operands.indices { if case .constant(var c) = t.operands[i] { try map(&c); t.operands[i] = .constant(c) } }
            self = .tensor(t)
        case .dropout, .activation, .pool2d, .globalPool, .flatten, .add, .mul, .concat, .softmax, .lrn, .channelShuffle,
             .resize, .identity:
            break
        }
    }
}
