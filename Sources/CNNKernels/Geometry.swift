// Small value types shared by the spatial kernels (kernel/stride/dilation sizes, four-sided
// padding, NCHW shapes) and the one error type their validating initializers throw.

/// A height/width pair: a kernel size, a stride or a dilation.
public struct Size2D: Hashable, Sendable, CustomStringConvertible {
    /// Rows (the first spatial axis of NCHW).
    public var height: Int
    /// Columns (the last axis).
    public var width: Int
    /// A size with separate height and width (ONNX lists them in this order).
    public init(_ height: Int, _ width: Int) { self.height = height; self.width = width }
    /// The same value for both axes.
    public init(_ both: Int) { self.init(both, both) }
    /// 1×1: the default stride and dilation, and a pointwise kernel.
    public static let one = Size2D(1, 1)
    /// "HxW", as inspect and error messages show sizes.
    public var description: String { "\(height)x\(width)" }
}

/// Padding on four sides, in input pixels. ONNX's `pads` = [top, left, bottom, right].
public struct Padding2D: Hashable, Sendable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int
    /// Padding given per side, which ONNX allows to be asymmetric (SAME_UPPER, TF exports).
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    /// The same padding on every side.
    public init(_ all: Int) { self.init(top: all, left: all, bottom: all, right: all) }
    /// No padding.
    public static let zero = Padding2D(0)
    var isNonNegative: Bool { top >= 0 && left >= 0 && bottom >= 0 && right >= 0 }
    /// The four sides as error messages show them.
    public var description: String { "[t\(top) l\(left) b\(bottom) r\(right)]" }
}

/// A dense NCHW shape.
public struct Shape4D: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int, channels: Int, height: Int, width: Int
    /// A shape from its four dimensions (unchecked: the geometry initializers validate them).
    public init(batch: Int, channels: Int, height: Int, width: Int) {
        self.batch = batch; self.channels = channels; self.height = height; self.width = width
    }
    /// Elements in one channel plane.
    public var spatial: Int { height * width }
    /// Elements in total.
    public var count: Int { batch * channels * height * width }
    /// "[N, C, H, W]", as error messages show shapes.
    public var description: String { "[\(batch), \(channels), \(height), \(width)]" }
}

/// Why a kernel geometry or argument is invalid. Each case names the offending value.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    /// A size that must be positive is not (e.g. a kernel, stride, dilation or batch).
    case nonPositive(String, Int)
    /// A padding that must be non-negative is negative.
    case negativePadding(Padding2D)
    /// Channels not divisible by groups.
    case groupsDoNotDivide(channels: Int, groups: Int)
    /// The window does not fit in the padded input: the output would be empty.
    case emptyOutput(String)
    /// An axis outside `0..<rank`.
    case axisOutOfRange(axis: Int, rank: Int)
    /// Two shapes that must agree do not.
    case shapeMismatch(String)
    /// A probability outside its allowed range.
    case invalidProbability(String, Double)
    /// Training-mode statistics need at least two values per channel.
    case tooFewValuesPerChannel(Int)
    /// A size (output, scratch or operation count) past what an `Int` holds.
    case tooLarge(String)

    /// One line naming the value at fault, for the node's error message.
    public var description: String {
        switch self {
        case .nonPositive(let what, let v): return "\(what) must be positive, got \(v)"
        case .negativePadding(let p): return "padding must be non-negative, got \(p)"
        case .groupsDoNotDivide(let c, let g): return "\(c) channels are not divisible by \(g) groups"
        case .emptyOutput(let what): return "\(what): output would be empty"
        case .axisOutOfRange(let a, let r): return "axis \(a) is out of range for rank \(r)"
        case .shapeMismatch(let what): return "shape mismatch: \(what)"
        case .invalidProbability(let what, let p): return "\(what) must be in range, got \(p)"
        case .tooFewValuesPerChannel(let n):
            return "batch statistics need more than 1 value per channel, got \(n)"
        case .tooLarge(let what): return "\(what): sizes overflow a 64-bit count"
        }
    }
}

func requirePositive(_ name: String, _ v: Int) throws(KernelError) {
    if v <= 0 { throw .nonPositive(name, v) }
}

/// The checks every sliding window makes before its output size is computed (convolution,
/// transposed convolution, pooling): every size positive, the padding non-negative. Throws
/// naming the first bad value, so a hostile file's numbers fail here rather than in a kernel.
func requireValidWindow(
    input: Shape4D, channelsName: String = "input channels", kernel: Size2D,
    stride: Size2D, dilation: Size2D, padding: Padding2D
) throws(KernelError) {
    try requirePositive("batch", input.batch)
    try requirePositive(channelsName, input.channels)
    try requirePositive("input height", input.height)
    try requirePositive("input width", input.width)
    try requirePositive("kernel height", kernel.height)
    try requirePositive("kernel width", kernel.width)
    try requirePositive("stride height", stride.height)
    try requirePositive("stride width", stride.width)
    try requirePositive("dilation height", dilation.height)
    try requirePositive("dilation width", dilation.width)
    guard padding.isNonNegative else { throw .negativePadding(padding) }
}

/// The channel checks of a grouped convolution (forward or transposed): positive output
/// channels and groups, and groups dividing both channel counts.
func requireValidGroups(inChannels: Int, outChannels: Int, groups: Int) throws(KernelError) {
    try requirePositive("output channels", outChannels)
    try requirePositive("groups", groups)
    guard inChannels % groups == 0 else { throw .groupsDoNotDivide(channels: inChannels, groups: groups) }
    guard outChannels % groups == 0 else { throw .groupsDoNotDivide(channels: outChannels, groups: groups) }
}

/// The product of `factors`, or nil when it overflows `Int` (all factors are ≥ 0 here).
func checkedProduct(_ factors: Int...) -> Int? {
    var p = 1
    for f in factors {
        let (r, overflow) = p.multipliedReportingOverflow(by: f)
        if overflow { return nil }
        p = r
    }
    return p
}

/// Output length of a sliding window along one axis (floor mode):
/// `floor((in + padBegin + padEnd - dilation*(k-1) - 1) / stride) + 1`; 0 when the window does
/// not fit, nil when a step overflows `Int`. Callers have checked every argument is ≥ 0
/// (kernel, stride, dilation ≥ 1).
@inline(__always)
func windowOutputLength(
    input: Int, kernel: Int, stride: Int, dilation: Int,
    padBegin: Int, padEnd: Int, ceilMode: Bool = false
) -> Int? {
    let (padded0, o1) = input.addingReportingOverflow(padBegin)
    let (padded, o2) = padded0.addingReportingOverflow(padEnd)
    let (reach, o3) = dilation.multipliedReportingOverflow(by: kernel - 1)
    if o1 || o2 || o3 { return nil }
    // padded ≥ 0 and reach ≥ 0: the difference cannot overflow.
    let span = padded - reach - 1
    if span < 0 { return 0 }
    // span ≥ 0, stride ≥ 1: neither the quotients nor the + 1 can overflow.
    var out = span / stride + (ceilMode && span % stride != 0 ? 1 : 0) + 1
    // PyTorch/ONNX: with ceil mode the last window must start inside the input or left padding,
    // i.e. drop it when (out − 1)·stride ≥ input + padBegin (compared by division).
    if ceilMode && out - 1 >= padded0 / stride + (padded0 % stride == 0 ? 0 : 1) { out -= 1 }
    return out
}
