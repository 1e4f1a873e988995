// The operations a graph carries, one enum case each, with typed attributes and parameters.

/// Spatial geometry of convolutions and pools. Padding may be asymmetric.
public struct Window2d: Sendable, Equatable, Hashable {
    /// Kernel height and width together, for code that treats both axes alike.
    public var kernel: (h: Int, w: Int) { (kernelH, kernelW) }
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var dilationH: Int, dilationW: Int
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    /// The general form: separate heights and widths and asymmetric padding, as ONNX stores them.
    public init(
        kernel: (Int, Int), stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
        padding: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0)
    ) {
        kernelH = kernel.0; kernelW = kernel.1
        strideH = stride.0; strideW = stride.1
        dilationH = dilation.0; dilationW = dilation.1
        padTop = padding.top; padLeft = padding.left; padBottom = padding.bottom; padRight = padding.right
    }

    /// Square kernel `k`, stride `s`, symmetric padding `p`.
    public init(k: Int, s: Int = 1, p: Int = 0, d: Int = 1) {
        self.init(kernel: (k, k), stride: (s, s), dilation: (d, d), padding: (p, p, p, p))
    }

    /// Whether any side is padded: unpadded windows take cheaper kernel paths.
    public var hasPadding: Bool { padTop != 0 || padLeft != 0 || padBottom != 0 || padRight != 0 }

    /// floor((in + pads − dilation·(k−1) − 1) / stride) + 1, or with ceil mode the PyTorch/ONNX
    /// rule (the last window must start inside the input or the leading padding). nil when the
    /// window does not fit, an attribute is out of range, or a step overflows `Int`.
    public func outputSize(inputH: Int, inputW: Int, ceilMode: Bool = false) -> (h: Int, w: Int)? {
        func one(_ input: Int, _ k: Int, _ s: Int, _ d: Int, _ p0: Int, _ p1: Int) -> Int? {
            guard s > 0, k > 0, d > 0, p0 >= 0, p1 >= 0, input >= 0,
                let padded = input.adding(checked: p0)?.adding(checked: p1),
                let reach = d.multiplied(checked: k - 1),
                let span = padded.subtracting(checked: reach)?.subtracting(checked: 1)
            else { return nil }
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
            let w = one(inputW, kernelW, strideW, dilationW, padLeft, padRight)
        else { return nil }
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

    /// The one switch over the cases: each op's definition (its payload, or a small struct for a
    /// case without one). Everything generic about ops goes through it; see Ops/README.md.
    package var definition: any OpDefinition {
        switch self {
        case .conv2d(let c): return c
        case .convTranspose2d(let c): return c
        case .batchNorm(let b): return b
        case .dropout(let d): return d
        case .linear(let l): return l
        case .activation(let a): return a
        case .pool2d(let p): return p
        case .globalPool(let k): return GlobalPoolDefinition(kind: k)
        case .flatten(let axis): return FlattenDefinition(axis: axis)
        case .add: return AddDefinition()
        case .mul: return MulDefinition()
        case .concat(let axis): return ConcatDefinition(axis: axis)
        case .softmax(let axis): return SoftmaxDefinition(axis: axis)
        case .affine(let a): return a
        case .layerNorm(let n): return n
        case .groupNorm(let n): return n
        case .instanceNorm(let n): return n
        case .lrn(let l): return l
        case .channelShuffle(let g): return ChannelShuffleDefinition(groups: g)
        case .resize(let r): return r
        case .identity: return IdentityDefinition()
        case .tensor(let t): return t
        }
    }

    /// Every definition type, one per case above, for the lists derived from them (importer,
    /// exporter, inspect, the schema); a test checks this list against the schema's ops.
    package static let definitionTypes: [any OpDefinition.Type] = [
        Conv2d.self, ConvTranspose2d.self, BatchNorm.self, Dropout.self, Linear.self, Activation.self, Pool2d.self,
        GlobalPoolDefinition.self, FlattenDefinition.self, AddDefinition.self, MulDefinition.self,
        ConcatDefinition.self,
        SoftmaxDefinition.self, Affine.self, LayerNorm.self, GroupNorm.self, InstanceNorm.self, LRN.self,
        ChannelShuffleDefinition.self, Resize.self, IdentityDefinition.self, TensorOp.self,
    ]

    /// The op's kind as a short name ("Conv2d", "BatchNorm"), for reports.
    public var kindName: String { definition.kindName }

    /// Every parameter tensor of the op, with its role ("weight", "running_variance").
    public var parameters: [(role: String, tensor: Tensor)] { definition.parameters }

    /// Calls `transform` on every parameter tensor and stores what it returns (storage
    /// changes, renames); shapes must not change.
    public mutating func mapParameters(_ transform: (Tensor) throws -> Tensor) rethrows {
        var d = definition
        try d.mapParameters(transform)
        self = d.op
    }
}
