// Float32 convolution through oneDNN (Debian's libdnnl 2.x, C API): one primitive per conv
// node, made at plan time, with the weights reordered once into the layout oneDNN's JIT kernel
// for this CPU asks for (`format_tag any`), bias, and an optional epilogue: an inference
// BatchNorm folded into weights and bias, then ReLU or Clip as a post-op applied while the
// output tile is in registers; a residual Add as a sum post-op, and a depthwise conv after a 1×1
// one as a dw post-op. Channel-blocked activations (nChw16c/nChw8c) are given to oneDNN as they
// are; for NCHW and NHWC oneDNN chooses, and the caller's buffers are reordered around the call
// when they differ from its choice. Float64 (the verifier's reference) never comes here.
//
// Threads: Debian's libdnnl runs on OpenMP (libgomp), told to sleep rather than spin when idle
// (CDNNL/include/cdnnl.h). A primitive fixes its thread split when it is created, so
// `OneDNNConvolution` makes one for the thread count it is run with (the executor's
// `KernelThreads.count`) and remakes it when that count changes.

import CDNNL

#if canImport(Glibc)
    import Glibc
#endif

/// A oneDNN call that failed: the function and its status, with the convolution it was for.
public struct OneDNNError: Error, CustomStringConvertible, Equatable {
    /// The dnnl_* function that failed, so a report can be matched to oneDNN's documentation.
    public let call: String
    /// oneDNN's dnnl_status_t value as returned.
    public let status: Int
    /// The convolution's geometry in words, to say which node of the model failed.
    public let convolution: String
    /// The message the executor's error carries.
    public var description: String { "oneDNN \(call) failed with status \(status) for convolution \(convolution)" }
}

/// How an activation tensor is laid out in memory. Every layout here holds exactly the NCHW
/// element count when the channels are a multiple of `channelBlock` (no padding).
public enum TensorLayout: String, Sendable, CaseIterable {
    /// Channel planes one after another (the executor's layout everywhere else).
    case nchw
    /// Channels innermost (oneDNN's f32 choice with AVX-512: its `acdb`).
    case nhwc
    /// Blocks of 8 channels innermost (oneDNN's f32 choice with AVX2: `aBcd8b`).
    case nChw8c
    /// Blocks of 16 channels innermost (`aBcd16b`).
    case nChw16c

    /// Channels must be a multiple of this for the layout to hold exactly NCHW's elements.
    public var channelBlock: Int {
        switch self {
        case .nchw, .nhwc: return 1
        case .nChw8c: return 8
        case .nChw16c: return 16
        }
    }

    var tag: dnnl_format_tag_t {
        switch self {
        case .nchw: return dnnl_nchw
        case .nhwc: return dnnl_nhwc
        case .nChw8c: return dnnl_nChw8c
        case .nChw16c: return dnnl_nChw16c
        }
    }
}

/// What the convolution does to its result before writing it: `y = act(scale·(conv + bias −
/// centre) + shift)` per output channel (an inference BatchNorm: `scale = γ/√(σ²+ε)`,
/// `centre = μ`, `shift = β`), then ReLU or Clip; with `residual`, `y = act₂(that + y₀)` where
/// `y₀` is what the output buffer held before the call (a ResNet or MobileNetV2 residual Add whose
/// other operand the executor placed in the output buffer: oneDNN's `sum` post-op, so the Add
/// costs no pass of its own). The affine is folded into the weights and bias in Double and rounded
/// once (as `cnnconv fold` does), so results differ from the unfused BatchNorm by Float rounding only.
public struct ConvEpilogue: Sendable {
    /// Per output channel: subtract `centre`, multiply by `scale`, add `shift` (all `outChannels` long).
    public var affine: (centre: [Float], scale: [Float], shift: [Float])?
    /// `.relu` or `.clip`; nil for none.
    public var activation: Activation?
    /// Whether the result is added to the output buffer's previous contents (after `activation`).
    public var residual: Bool
    /// `.relu` or `.clip` after the residual sum (ResNet's Add→ReLU); nil for none. Only with `residual`.
    public var activationAfterResidual: Activation?
    /// No affine and no activation is a plain convolution; the executor fills in what it fused.
    public init(
        affine: (centre: [Float], scale: [Float], shift: [Float])? = nil, activation: Activation? = nil,
        residual: Bool = false, activationAfterResidual: Activation? = nil
    ) {
        self.affine = affine
        self.activation = activation
        self.residual = residual
        self.activationAfterResidual = activationAfterResidual
    }
    /// Whether oneDNN can apply `activation` as a post-op.
    public static func supports(_ activation: Activation) -> Bool {
        switch activation {
        case .relu, .clip: return true
        default: return false
        }
    }
}

/// A depthwise 3×3 convolution (padding 1, stride 1 or 2) that oneDNN applies to a 1×1
/// convolution's result inside the same primitive (its `dw` post-op: MobileNet's expand →
/// depthwise pair), so the wide intermediate tensor is never written to memory.
public struct FusedDepthwise: Sendable {
    /// The depthwise convolution's sizes; its input is the 1×1 convolution's output.
    public let geometry: ConvGeometry
    /// `[channels, 1, 3, 3]` and `channels` values.
    public let weight: [Float], bias: [Float]?
    /// Its BatchNorm (folded into its weights) and ReLU/Clip; no residual.
    public let epilogue: ConvEpilogue

    /// `geometry` must pass `fits` with the 1×1 convolution's (`OneDNNConvolution.init` checks it).
    public init(_ geometry: ConvGeometry, weight: [Float], bias: [Float]?, epilogue: ConvEpilogue = ConvEpilogue()) {
        self.geometry = geometry
        self.weight = weight
        self.bias = bias
        self.epilogue = epilogue
    }

    /// Whether oneDNN's post-op can run `depthwise` after `pointwise`: a plain 1×1 convolution, then a
    /// depthwise 3×3 one over all its channels with padding 1 on every side, stride 1 or 2, no dilation.
    public static func fits(_ pointwise: ConvGeometry, _ depthwise: ConvGeometry) -> Bool {
        let c = pointwise.outChannels
        return pointwise.kernel == Size2D(1) && pointwise.stride == .one && pointwise.padding == .zero
            && pointwise.dilation == .one && pointwise.groups == 1
            && depthwise.input == pointwise.output && depthwise.groups == c && depthwise.outChannels == c
            && depthwise.kernel == Size2D(3) && depthwise.padding == Padding2D(1) && depthwise.dilation == .one
            && depthwise.stride.height == depthwise.stride.width && (1...2).contains(depthwise.stride.height)
    }
}

/// One convolution as a oneDNN primitive bound to fixed input, output and weight buffers.
/// Not thread-safe: one call at a time (as `Executor` runs its steps).
public final class OneDNNConvolution: @unchecked Sendable {
    /// The convolution's sizes, validated once by `ConvGeometry`.
    public let geometry: ConvGeometry
    /// The layouts oneDNN reads and writes here, which the executor converts to and from.
    public let inputLayout: TensorLayout, outputLayout: TensorLayout
    fileprivate let input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    fileprivate let weight: [Float], bias: [Float]?
    fileprivate let epilogue: ConvEpilogue
    /// The depthwise convolution run on the result before it is written (its affine folded in).
    fileprivate let depthwise: FusedDepthwise?
    private var built: Built?

    /// Makes the primitive for `threads` threads. `weight` is `[outChannels, inChannels/groups,
    /// kh, kw]` (`geometry.weightCount` values), `bias` `outChannels` values; both are kept so the
    /// primitive can be remade for another thread count. `input` and `output` are buffers of the
    /// geometry's sizes (the output of `depthwise`'s when one is fused: `outputShape`) in the
    /// given layouts that stay valid while this object lives; where
    /// oneDNN's kernel wants another layout, they are reordered around each call.
    public init(
        _ geometry: ConvGeometry, input: UnsafePointer<Float>, inputLayout: TensorLayout = .nchw,
        weight: [Float], bias: [Float]?, output: UnsafeMutablePointer<Float>, outputLayout: TensorLayout = .nchw,
        epilogue: ConvEpilogue = ConvEpilogue(), depthwise: FusedDepthwise? = nil, threads: Int = KernelThreads.count
    ) throws(OneDNNError) {
        guard weight.count == geometry.weightCount,
            geometry.input.channels % inputLayout.channelBlock == 0,
            geometry.outChannels % outputLayout.channelBlock == 0,
            bias.map({ $0.count == geometry.outChannels }) ?? true,
            epilogue.affine.map({ [$0.centre, $0.scale, $0.shift].allSatisfy { $0.count == geometry.outChannels } })
                ?? true,
            epilogue.residual || epilogue.activationAfterResidual == nil,
            depthwise.map({ d in
                FusedDepthwise.fits(geometry, d.geometry) && !epilogue.residual && !d.epilogue.residual
                    && d.weight.count == d.geometry.weightCount
                    && (d.bias?.count ?? d.geometry.outChannels) == d.geometry.outChannels
            }) ?? true
        else {
            throw OneDNNError(call: "OneDNNConvolution.init (parameter sizes)", status: -1, convolution: "\(geometry)")
        }
        self.geometry = geometry
        self.inputLayout = inputLayout
        self.outputLayout = outputLayout
        self.input = input
        self.output = output
        // The affine folds into weights and bias (in Double, rounded once): measured 1.3–2× faster
        // on MobileNetV2 than applying it as three per-channel binary post-ops (AVX2 and AVX-512).
        (self.weight, self.bias, self.epilogue) = Self.foldAffine(geometry, weight, bias, epilogue)
        self.depthwise = depthwise.map { d in
            let (w, b, e) = Self.foldAffine(d.geometry, d.weight, d.bias, d.epilogue)
            return FusedDepthwise(d.geometry, weight: w, bias: b, epilogue: e)
        }
        built = try Built(self, threads: max(1, threads))
    }

    /// Weights and bias with `epilogue`'s affine folded in, and the epilogue without it.
    private static func foldAffine(
        _ geometry: ConvGeometry, _ weight: [Float], _ bias: [Float]?, _ epilogue: ConvEpilogue
    )
        -> ([Float], [Float]?, ConvEpilogue)
    {
        guard let a = epilogue.affine else { return (weight, bias, epilogue) }
        let per = geometry.weightCount / geometry.outChannels
        let w = weight.indices.map { Float(Double(weight[$0]) * Double(a.scale[$0 / per])) }
        let b = (0..<geometry.outChannels).map { (oc: Int) -> Float in
            let b0: Double = bias.map { Double($0[oc]) } ?? 0
            let centred: Double = b0 - Double(a.centre[oc])
            return Float(centred * Double(a.scale[oc]) + Double(a.shift[oc]))
        }
        var rest = epilogue
        rest.affine = nil
        return (w, b, rest)
    }

    /// The output's sizes: the depthwise convolution's when one is fused, else the convolution's.
    public var outputShape: Shape4D { depthwise?.geometry.output ?? geometry.output }

    /// The name oneDNN gives the implementation it chose (e.g. `jit:avx512_core`, `gemm:jit`).
    public var implementation: String { built?.implementation ?? "" }
    /// Bytes this convolution holds: its copy of weights and bias, and what oneDNN allocated for
    /// it (reordered weights, reorder buffers; not oneDNN's per-thread scratchpad).
    public var byteCount: Int {
        (weight.count + (bias?.count ?? 0) + (depthwise.map { $0.weight.count + ($0.bias?.count ?? 0) } ?? 0)) * 4
            + (built?.allocatedBytes ?? 0)
    }
    /// How many reorders run around each call: of the input, of the output, and of the output's
    /// previous contents for a residual sum (0 to 3).
    public var reorderCount: Int { built?.reorders ?? 0 }

    /// Whether libdnnl.so.2 could be loaded (and its CPU engine made).
    public static var isAvailable: Bool { cpuEngine.value != nil }

    /// The layout values passed from one oneDNN convolution to the next are kept in: blocks of
    /// the CPU's vector width (nChw16c with AVX-512, nChw8c with AVX2), given to oneDNN as such so
    /// it runs its blocked `jit` kernels with no reorder. (Left to choose, oneDNN 2.6 took NHWC and
    /// its `brgconv` kernels on AVX-512: 10–20 % more CPU time on MobileNetV2, 0–5 % on ResNets,
    /// Benchmarks/README.md.) `CNNCONV_ONEDNN_LAYOUT` (`nhwc`, `nChw8c`, `nChw16c`, `nchw` for
    /// none) overrides it, to measure. nil without AVX2 or oneDNN.
    public static let preferredLayout: TensorLayout? = {
        if let raw = getenv("CNNCONV_ONEDNN_LAYOUT"), let forced = TensorLayout(rawValue: String(cString: raw)) {
            return forced
        }
        guard isAvailable else { return nil }
        let isa = cdnnl_get_effective_cpu_isa().rawValue
        func has(_ level: dnnl_cpu_isa_t) -> Bool { isa & level.rawValue == level.rawValue }
        return has(dnnl_cpu_isa_avx512_core) ? .nChw16c : has(dnnl_cpu_isa_avx2) ? .nChw8c : nil
    }()

    /// Runs the convolution with `threads` threads (remaking the primitive if it was made for another count).
    public func callAsFunction(threads: Int = KernelThreads.count) throws(OneDNNError) {
        let t = max(1, threads)
        if built?.threads != t {
            built = nil
            built = try Built(self, threads: t)
        }
        guard let b = built else { return }
        cdnnl_set_num_threads(Int32(t))
        try b.execute()
    }
}

/// The process's one CPU engine (thread-safe in oneDNN), made on first use.
private let cpuEngine: UncheckedSendableBox<dnnl_engine_t?> = {
    var engine: dnnl_engine_t?
    guard cdnnl_load() != 0 else { return UncheckedSendableBox(nil) }
    return UncheckedSendableBox(cdnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success ? engine : nil)
}()

/// The oneDNN objects of one primitive: all owned here and destroyed in `deinit`.
private final class Built {
    let threads: Int
    var implementation = ""
    let name: String
    var stream: dnnl_stream_t?
    var conv: dnnl_primitive_t?
    var reorderIn: dnnl_primitive_t?, reorderOut: dnnl_primitive_t?, reorderResidual: dnnl_primitive_t?
    var reorders = 0
    var allocatedBytes = 0
    var memories: [dnnl_memory_t?] = []
    var convArgs: [dnnl_exec_arg_t] = []
    var inArgs: [dnnl_exec_arg_t] = [], outArgs: [dnnl_exec_arg_t] = [], residualArgs: [dnnl_exec_arg_t] = []

    init(_ c: OneDNNConvolution, threads: Int) throws(OneDNNError) {
        self.threads = threads
        let g = c.geometry
        name =
            "\(g.kernel) stride \(g.stride) on \(g.input) to \(g.outChannels) channels, groups \(g.groups)"
            + (c.depthwise.map { ", then depthwise \($0.geometry.kernel) stride \($0.geometry.stride)" } ?? "")
        let name = self.name
        func check(_ status: dnnl_status_t, _ call: String) throws(OneDNNError) {
            if status != dnnl_success { throw OneDNNError(call: call, status: Int(status.rawValue), convolution: name) }
        }
        guard let engine = cpuEngine.value else {
            throw OneDNNError(call: "loading libdnnl.so.2", status: -1, convolution: name)
        }
        cdnnl_set_num_threads(Int32(threads))  // the primitive's thread split is fixed from here
        try check(cdnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")

        var srcDims: [Int64] = [g.input.batch, g.input.channels, g.input.height, g.input.width].map(Int64.init)
        var dstDims: [Int64] = [g.output.batch, g.output.channels, g.output.height, g.output.width].map(Int64.init)
        // The caller's output holds the fused depthwise convolution's result when there is one.
        let o = c.outputShape
        var userDstDims: [Int64] = [o.batch, o.channels, o.height, o.width].map(Int64.init)
        let grouped = g.groups > 1
        var wDims: [Int64] =
            (grouped ? [g.groups, g.outChannelsPerGroup] : [g.outChannels])
            .map(Int64.init) + [g.inChannelsPerGroup, g.kernel.height, g.kernel.width].map(Int64.init)
        var bDims: [Int64] = [Int64(g.outChannels)]
        var srcPlain = dnnl_memory_desc_t(), dstPlain = dnnl_memory_desc_t(), wPlain = dnnl_memory_desc_t()
        var bMD = dnnl_memory_desc_t(), wAny = dnnl_memory_desc_t()
        try check(
            cdnnl_memory_desc_init_by_tag(&srcPlain, 4, &srcDims, dnnl_f32, c.inputLayout.tag), "memory_desc_init (src)"
        )
        try check(
            cdnnl_memory_desc_init_by_tag(&dstPlain, 4, &userDstDims, dnnl_f32, c.outputLayout.tag),
            "memory_desc_init (dst)")
        try check(
            cdnnl_memory_desc_init_by_tag(
                &wPlain, Int32(wDims.count), &wDims, dnnl_f32, grouped ? dnnl_goihw : dnnl_oihw),
            "memory_desc_init (weights)")
        try check(
            cdnnl_memory_desc_init_by_tag(&wAny, Int32(wDims.count), &wDims, dnnl_f32, dnnl_format_tag_any),
            "memory_desc_init (weights any)")
        try check(cdnnl_memory_desc_init_by_tag(&bMD, 1, &bDims, dnnl_f32, dnnl_x), "memory_desc_init (bias)")
        // Post-ops: the activation (the affine was folded into the weights), the residual sum
        // into the output buffer, the activation after it.
        var attr: dnnl_primitive_attr_t?
        var postOps: dnnl_post_ops_t?
        try check(cdnnl_primitive_attr_create(&attr), "primitive_attr_create")
        defer { cdnnl_primitive_attr_destroy(attr) }
        try check(cdnnl_post_ops_create(&postOps), "post_ops_create")
        defer { cdnnl_post_ops_destroy(postOps) }
        func appendActivation(_ activation: Activation?) throws(OneDNNError) {
            switch activation {
            case .some(.relu):
                try check(
                    cdnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0),
                    "post_ops_append_eltwise (relu)")
            case .some(.clip(let lo, let hi)):
                try check(
                    cdnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_clip_v2, Float(lo), Float(hi)),
                    "post_ops_append_eltwise (clip)")
            case .none:
                break
            case .some(let other):
                throw OneDNNError(call: "post-op \(other)", status: -1, convolution: name)
            }
        }
        try appendActivation(c.epilogue.activation)
        if let d = c.depthwise {
            try check(
                cdnnl_post_ops_append_dw(
                    postOps, dnnl_f32, dnnl_f32, dnnl_f32, 3, Int64(d.geometry.stride.height), 1, 0, 0, nil),
                "post_ops_append_dw")
            try appendActivation(d.epilogue.activation)
        }
        if c.epilogue.residual {
            try check(cdnnl_post_ops_append_sum(postOps, 1), "post_ops_append_sum")
            try appendActivation(c.epilogue.activationAfterResidual)
        }
        try check(cdnnl_primitive_attr_set_post_ops(attr, postOps), "primitive_attr_set_post_ops")

        // The activation layouts: a channel-blocked caller layout is given to oneDNN as it is (its
        // blocked `jit` kernels, no reorder); otherwise oneDNN picks (`any`): with NCHW imposed
        // (oneDNN 2.6) it falls back to its im2col kernel, 10× slower here (measured), whose
        // per-channel binary post-ops also gave wrong results. Should a blocked layout get only a
        // `gemm`/`ref` kernel (e.g. odd group sizes), the primitive is made with `any` instead.
        var strides: [Int64] = [Int64(g.stride.height), Int64(g.stride.width)]
        // oneDNN counts dilation from 0 (no gaps), ONNX from 1.
        var dilates: [Int64] = [Int64(g.dilation.height - 1), Int64(g.dilation.width - 1)]
        var padL: [Int64] = [Int64(g.padding.top), Int64(g.padding.left)]
        var padR: [Int64] = [Int64(g.padding.bottom), Int64(g.padding.right)]
        let hasBias = c.bias != nil
        let blocked = c.inputLayout.channelBlock > 1 || c.outputLayout.channelBlock > 1
        var pd: dnnl_primitive_desc_t?
        defer { cdnnl_primitive_desc_destroy(pd) }
        for imposing in blocked ? [true, false] : [false] {
            var srcConv = dnnl_memory_desc_t(), dstConv = dnnl_memory_desc_t()
            try check(
                cdnnl_memory_desc_init_by_tag(
                    &srcConv, 4, &srcDims, dnnl_f32,
                    imposing && c.inputLayout.channelBlock > 1 ? c.inputLayout.tag : dnnl_format_tag_any),
                "memory_desc_init (src)")
            try check(
                cdnnl_memory_desc_init_by_tag(
                    &dstConv, 4, &dstDims, dnnl_f32,
                    imposing && c.outputLayout.channelBlock > 1 ? c.outputLayout.tag : dnnl_format_tag_any),
                "memory_desc_init (dst)")
            var desc = dnnl_convolution_desc_t()
            try check(
                withUnsafePointer(to: &bMD) { b in
                    cdnnl_dilated_convolution_forward_desc_init(
                        &desc, dnnl_forward_inference, dnnl_convolution_direct, &srcConv, &wAny, hasBias ? b : nil,
                        &dstConv, &strides, &dilates, &padL, &padR)
                }, "dilated_convolution_forward_desc_init")
            let status = cdnnl_primitive_desc_create(&pd, &desc, attr, engine, nil)
            if imposing && status != dnnl_success { continue }
            try check(status, "primitive_desc_create")
            var impl: UnsafePointer<CChar>?
            if cdnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success, let impl {
                implementation = String(cString: impl)
            }
            if imposing && (implementation.hasPrefix("gemm") || implementation.hasPrefix("ref:")) {
                cdnnl_primitive_desc_destroy(pd)
                pd = nil
                continue
            }
            break
        }
        try check(cdnnl_primitive_create(&conv, pd), "primitive_create")

        func memory(_ md: UnsafePointer<dnnl_memory_desc_t>, _ handle: UnsafeMutableRawPointer?) throws(OneDNNError)
            -> dnnl_memory_t?
        {
            var m: dnnl_memory_t?
            try check(cdnnl_memory_create(&m, md, engine, handle ?? cdnnl_memory_allocate()), "memory_create")
            if handle == nil { allocatedBytes += cdnnl_memory_desc_get_size(md) }
            memories.append(m)
            return m
        }
        func reorder(
            _ from: dnnl_memory_t?, _ fromMD: UnsafePointer<dnnl_memory_desc_t>,
            _ to: dnnl_memory_t?, _ toMD: UnsafePointer<dnnl_memory_desc_t>
        ) throws(OneDNNError) -> dnnl_primitive_t? {
            var rpd: dnnl_primitive_desc_t?
            try check(
                cdnnl_reorder_primitive_desc_create(&rpd, fromMD, engine, toMD, engine, nil),
                "reorder_primitive_desc_create")
            defer { cdnnl_primitive_desc_destroy(rpd) }
            var r: dnnl_primitive_t?
            try check(cdnnl_primitive_create(&r, rpd), "primitive_create (reorder)")
            return r
        }

        // Weights: reordered once into the layout the kernel asked for.
        guard let wMD = cdnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
            let srcMD = cdnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
            let dstMD = cdnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)
        else { throw OneDNNError(call: "primitive_desc_query_md", status: -1, convolution: name) }
        /// A oneDNN-owned memory holding a copy of `values`.
        func filled(_ md: UnsafePointer<dnnl_memory_desc_t>, _ values: [Float]) throws(OneDNNError) -> dnnl_memory_t? {
            let m = try memory(md, nil)
            var handle: UnsafeMutableRawPointer?
            try check(cdnnl_memory_get_data_handle(m, &handle), "memory_get_data_handle")
            guard let handle, cdnnl_memory_desc_get_size(md) == values.count * 4 else {
                throw OneDNNError(call: "memory_get_data_handle (size)", status: -1, convolution: name)
            }
            values.withUnsafeBytes { handle.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return m
        }
        /// A oneDNN-owned memory of layout `md` holding `values` (given in layout `plain`), reordered once.
        func reordered(
            _ values: [Float], from plain: UnsafePointer<dnnl_memory_desc_t>, to md: UnsafePointer<dnnl_memory_desc_t>
        )
            throws(OneDNNError) -> dnnl_memory_t?
        {
            let user = try filled(plain, values)
            let m = try memory(md, nil)
            let r = try reorder(user, plain, m, md)
            defer { cdnnl_primitive_destroy(r) }
            var args = [
                dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: user), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: m),
            ]
            try check(cdnnl_primitive_execute(r, stream, 2, &args), "execute (weights reorder)")
            try check(cdnnl_stream_wait(stream), "stream_wait")
            memories.removeAll { $0 == user }  // the plain copy is not needed any more
            cdnnl_memory_destroy(user)
            allocatedBytes -= values.count * 4
            return m
        }
        let wConv = try reordered(c.weight, from: &wPlain, to: wMD)

        let srcUser = try memory(&srcPlain, UnsafeMutableRawPointer(mutating: c.input))
        let dstUser = try memory(&dstPlain, UnsafeMutableRawPointer(c.output))
        var srcMem = srcUser, dstMem = dstUser
        if cdnnl_memory_desc_equal(srcMD, &srcPlain) == 0 {
            srcMem = try memory(srcMD, nil)
            reorderIn = try reorder(srcUser, &srcPlain, srcMem, srcMD)
            inArgs = [
                dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: srcUser), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: srcMem),
            ]
        }
        if cdnnl_memory_desc_equal(dstMD, &dstPlain) == 0 {
            dstMem = try memory(dstMD, nil)
            reorderOut = try reorder(dstMem, dstMD, dstUser, &dstPlain)
            outArgs = [
                dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: dstMem), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: dstUser),
            ]
            if c.epilogue.residual {  // the sum reads the previous output in the kernel's layout
                reorderResidual = try reorder(dstUser, &dstPlain, dstMem, dstMD)
                residualArgs = [
                    dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: dstUser),
                    dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: dstMem),
                ]
            }
        }
        reorders = [reorderIn, reorderOut, reorderResidual].count { $0 != nil }
        convArgs = [
            dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: srcMem), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wConv),
            dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dstMem),
        ]
        if let bias = c.bias {
            convArgs.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: try filled(&bMD, bias)))
        }
        if let d = c.depthwise {
            // Its weights (reordered once into the layout the kernel asks for) and bias (zeros if none).
            let dwWeights = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                dwBias = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS
            var dwDims: [Int64] = [Int64(d.geometry.groups), 1, 1, 3, 3]
            var dwPlain = dnnl_memory_desc_t()
            try check(
                cdnnl_memory_desc_init_by_tag(&dwPlain, 5, &dwDims, dnnl_f32, dnnl_goihw),
                "memory_desc_init (dw weights)")
            guard let dwMD = cdnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, dwWeights),
                dwMD.pointee.ndims > 0
            else { throw OneDNNError(call: "primitive_desc_query_md (dw weights)", status: -1, convolution: name) }
            convArgs.append(dnnl_exec_arg_t(arg: dwWeights, memory: try reordered(d.weight, from: &dwPlain, to: dwMD)))
            if let dwBiasMD = cdnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, dwBias),
                dwBiasMD.pointee.ndims > 0
            {
                let values = d.bias ?? [Float](repeating: 0, count: d.geometry.outChannels)
                convArgs.append(dnnl_exec_arg_t(arg: dwBias, memory: try filled(dwBiasMD, values)))
            }
        }
    }

    func execute() throws(OneDNNError) {
        let name = self.name
        func check(_ status: dnnl_status_t, _ call: String) throws(OneDNNError) {
            if status != dnnl_success { throw OneDNNError(call: call, status: Int(status.rawValue), convolution: name) }
        }
        if let reorderIn {
            try check(cdnnl_primitive_execute(reorderIn, stream, 2, &inArgs), "execute (input reorder)")
        }
        if let reorderResidual {
            try check(cdnnl_primitive_execute(reorderResidual, stream, 2, &residualArgs), "execute (residual reorder)")
        }
        try check(cdnnl_primitive_execute(conv, stream, Int32(convArgs.count), &convArgs), "execute")
        if let reorderOut {
            try check(cdnnl_primitive_execute(reorderOut, stream, 2, &outArgs), "execute (output reorder)")
        }
        try check(cdnnl_stream_wait(stream), "stream_wait")
    }

    deinit {
        for p in [conv, reorderIn, reorderOut, reorderResidual] where p != nil { cdnnl_primitive_destroy(p) }
        for m in memories { cdnnl_memory_destroy(m) }
        cdnnl_stream_destroy(stream)
    }
}

/// Which code runs the executor's Float32 convolutions. Float64 always runs the native kernels.
public enum ConvBackend: String, Sendable, CaseIterable {
    /// im2col + OpenBLAS GEMM, and the direct depthwise kernel (Conv.swift, Depthwise.swift).
    case native
    /// oneDNN for every convolution.
    case oneDNN = "onednn"
    /// Per convolution, whichever measured faster (`ConvBackend.automaticUsesOneDNN(_:)`).
    case automatic = "auto"

    /// The environment variable that sets the default (`native`, `onednn`, `auto`).
    public static let environmentVariable = "CNNCONV_CONV"

    /// The backend plans made in this task use: `withValue` for a scope, else the environment's, else `.automatic`.
    @TaskLocal public static var current: ConvBackend = environmentDefault

    static let environmentDefault: ConvBackend = {
        guard let raw = getenv(environmentVariable) else { return .automatic }
        return ConvBackend(rawValue: String(cString: raw)) ?? .automatic
    }()

    /// Whether this backend runs `geometry` through oneDNN.
    public func usesOneDNN(_ geometry: ConvGeometry) -> Bool {
        switch self {
        case .native: return false
        case .oneDNN: return OneDNNConvolution.isAvailable
        case .automatic: return Self.automaticUsesOneDNN(geometry)
        }
    }

    /// The measured rule (Benchmarks/README.md, 2026-11-29): with its AVX2 or AVX-512 kernels
    /// oneDNN beat im2col + OpenBLAS on every model measured (ResNet-18/50, MobileNetV2, 1 and 2
    /// threads, AVX-512 and `ONEDNN_MAX_CPU_ISA=AVX2`), depthwise and 1×1 layers included once
    /// BatchNorm is folded into its weights and activations stay in its layout between convs.
    /// Below AVX2 it was not measured, so the native kernels keep those CPUs.
    public static func automaticUsesOneDNN(_ geometry: ConvGeometry) -> Bool {
        oneDNNHasAVX2
    }

    /// Whether oneDNN runs its AVX2 (or wider) kernels on this CPU (and under `ONEDNN_MAX_CPU_ISA`).
    static let oneDNNHasAVX2: Bool = {
        guard OneDNNConvolution.isAvailable else { return false }
        let isa = cdnnl_get_effective_cpu_isa().rawValue, avx2 = dnnl_cpu_isa_avx2.rawValue
        return isa & avx2 == avx2
    }()
}
