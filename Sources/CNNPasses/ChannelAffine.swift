// BatchNorm and Affine as one thing — y = a·x + b per channel, in Float64 — and the arithmetic
// that moves it into a neighbouring layer's weights. Every fold rounds once, from Float64.
import CNNFormat
import CNNGraph
import CNNKernels

/// A per-channel affine map in Float64.
struct ChannelAffine {
    var scale: [Double]
    var shift: [Double]

    /// BatchNorm at inference: a = γ/√(σ²+ε), b = β − μ·a.
    init(_ bn: BatchNorm) {
        let mean = bn.runningMean.array, variance = bn.runningVariance.array
        let gamma = bn.scale?.array, beta = bn.bias?.array
        scale = []; shift = []
        scale.reserveCapacity(mean.count); shift.reserveCapacity(mean.count)
        for c in mean.indices {
            let a = batchNormFactor(
                scale: gamma.map { Double($0[c]) } ?? 1, variance: Double(variance[c]), epsilon: bn.epsilon)
            scale.append(a)
            shift.append((beta.map { Double($0[c]) } ?? 0) - Double(mean[c]) * a)
        }
    }

    init(_ affine: Affine) {
        scale = affine.scale.array.map(Double.init)
        shift = affine.shift.array.map(Double.init)
    }

    init(scale: [Double], shift: [Double]) { self.scale = scale; self.shift = shift }

    /// The affine of a BatchNorm or Affine op.
    init?(_ op: Op) {
        switch op {
        case .batchNorm(let bn): self.init(bn)
        case .affine(let a): self.init(a)
        default: return nil
        }
    }

    var channels: Int { scale.count }

    /// self after `first`: x ↦ a₂(a₁x + b₁) + b₂.
    func after(_ first: ChannelAffine) -> ChannelAffine {
        ChannelAffine(
            scale: zip(scale, first.scale).map { $0 * $1 },
            shift: (0..<channels).map { scale[$0] * first.shift[$0] + shift[$0] })
    }

    func affine(named name: String, options: FoldOptions) -> Affine {
        Affine(
            scale: Tensor(name: name + ".scale", shape: [channels], values: scale.map(options.round)),
            shift: Tensor(name: name + ".shift", shape: [channels], values: shift.map(options.round)))
    }
}

enum Fold {
    static func tensor(_ like: Tensor, values: [Float], name: String? = nil) -> Tensor {
        Tensor(name: name ?? like.name, shape: like.shape, values: values, storage: like.storage)
    }

    /// y = a·(W x + b) + c as W' = a·W (per output channel), b' = a·b + c. The weight is a
    /// sequence of contiguous blocks of `blockSize` elements; block k feeds output channel
    /// `blockChannel(k)`.
    static func scaleOutputs(
        weight: Tensor, bias: Tensor?, biasName: String, by t: ChannelAffine,
        blockSize: Int, blockChannel: (Int) -> Int, options: FoldOptions
    ) -> (Tensor, Tensor) {
        let blocks = blockSize == 0 ? 0 : weight.count / blockSize
        let values = scaledBlocks(
            weight.values, blockSize: blockSize, by: (0..<blocks).map { t.scale[blockChannel($0)] }, options: options)
        let w = Tensor(name: weight.name, shape: weight.shape, buffer: values, storage: weight.storage)
        let b = bias?.array
        let newBias = (0..<t.channels).map { o in
            options.round((b.map { Double($0[o]) } ?? 0) * t.scale[o] + t.shift[o])
        }
        return (
            w,
            Tensor(
                name: bias?.name ?? biasName, shape: [t.channels], values: newBias,
                storage: bias?.storage ?? weight.storage)
        )
    }

    /// `source` with block k (elements k·blockSize ..< (k+1)·blockSize) multiplied by
    /// `scales[k]`, rounded once from Float64; elements past the last block stay as they are.
    /// Computed when read (FloatBuffer's computed values): a writer streams it from the source
    /// through the cache into the file, and never holds a folded copy.
    static func scaledBlocks(_ source: FloatBuffer, blockSize: Int, by scales: [Double], options: FoldOptions)
        -> FloatBuffer
    {
        let blocks = scales.count
        return FloatBuffer(count: source.count) { start, out in
            guard let base = out.baseAddress, !out.isEmpty else { return }
            // Straight from the source when it is in memory (mapped or owned), else through `out`.
            func scale(_ src: UnsafePointer<Float>) {
                var i = start
                let end = min(start + out.count, blocks * blockSize)
                while i < end {
                    let k = i / blockSize
                    let a = scales[k]
                    let stop = min(end, (k + 1) * blockSize)
                    let s = src + (i - start), p = base + (i - start)
                    if options.storage == .float32 {
                        for j in 0..<(stop - i) { p[j] = Float(Double(s[j]) * a) }
                    } else {
                        for j in 0..<(stop - i) { p[j] = options.round(Double(s[j]) * a) }
                    }
                    i = stop
                }
                // Elements past the last whole block (none for a well-formed weight) are copied.
                let tail = max(start, end)
                if tail < start + out.count {
                    (base + (tail - start)).update(from: src + (tail - start), count: start + out.count - tail)
                }
            }
            if source.isComputedOnDemand {
                source.copyValues(from: start, into: out)
                scale(UnsafePointer(base))
            } else {
                source.withUnsafeBufferPointer { src in if let s = src.baseAddress { scale(s + start) } }
            }
        }
    }

    /// Producer Conv2d: weight [O, I/g, kh, kw], output channel = i / (I/g·kh·kw).
    static func intoConv(_ c: Conv2d, _ t: ChannelAffine, biasName: String, options: FoldOptions) -> Conv2d {
        let perOutput = c.weight.shape.dropFirst().reduce(1, *)
        var out = c
        (out.weight, out.bias) = scaleOutputs(
            weight: c.weight, bias: c.bias, biasName: biasName, by: t,
            blockSize: perOutput, blockChannel: { $0 }, options: options)
        return out
    }

    /// Producer ConvTranspose2d: weight [I, O/g, kh, kw]; element [i, j] feeds output channel
    /// group(i)·(O/g) + j.
    static func intoConvTranspose(_ c: ConvTranspose2d, _ t: ChannelAffine, biasName: String, options: FoldOptions)
        -> ConvTranspose2d
    {
        let inPerGroup = c.weight.shape[0] / c.groups
        let outPerGroup = c.weight.shape[1]
        let taps = c.weight.shape[2] * c.weight.shape[3]
        var out = c
        // Block k = (input channel i, j): the taps of one weight slice.
        (out.weight, out.bias) = scaleOutputs(
            weight: c.weight, bias: c.bias, biasName: biasName, by: t, blockSize: taps,
            blockChannel: { k in
                let inputChannel = k / outPerGroup
                return (inputChannel / inPerGroup) * outPerGroup + k % outPerGroup
            }, options: options)
        return out
    }

    /// Producer Linear: weight [O, I].
    static func intoLinear(_ l: Linear, _ t: ChannelAffine, biasName: String, options: FoldOptions) -> Linear {
        let inFeatures = l.weight.shape[1]
        var out = l
        (out.weight, out.bias) = scaleOutputs(
            weight: l.weight, bias: l.bias, biasName: biasName, by: t,
            blockSize: inFeatures, blockChannel: { $0 }, options: options)
        return out
    }

    /// W (a x + c) + b = (W·a) x + (W c + b): the affine before a layer folds into its input
    /// weights. `inputChannel(i)` maps a flat weight index to the channel of the input it reads;
    /// `outputOf(i)` to its output.
    static func scaleInputs(
        weight: Tensor, bias: Tensor?, biasName: String, outputs: Int, by t: ChannelAffine,
        inputChannel: (Int) -> Int, outputOf: (Int) -> Int, options: FoldOptions
    ) -> (Tensor, Tensor) {
        var shift = bias.map { $0.array.map(Double.init) } ?? [Double](repeating: 0, count: outputs)
        let w = weight.values.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: src.count) { out, n in
                for i in 0..<src.count {
                    let c = inputChannel(i)
                    shift[outputOf(i)] += Double(src[i]) * t.shift[c]
                    out[i] = options.round(Double(src[i]) * t.scale[c])
                }
                n = src.count
            }
        }
        return (
            tensor(weight, values: w),
            Tensor(
                name: bias?.name ?? biasName, shape: [outputs], values: shift.map(options.round),
                storage: bias?.storage ?? weight.storage)
        )
    }

    /// Consumer Linear reading features c·spatial + s (spatial = 1 without a Flatten).
    static func beforeLinear(_ l: Linear, _ t: ChannelAffine, biasName: String, options: FoldOptions) -> Linear {
        let inFeatures = l.weight.shape[1]
        let spatial = max(1, inFeatures / t.channels)
        var out = l
        (out.weight, out.bias) = scaleInputs(
            weight: l.weight, bias: l.bias, biasName: biasName, outputs: l.weight.shape[0], by: t,
            inputChannel: { ($0 % inFeatures) / spatial }, outputOf: { $0 / inFeatures }, options: options)
        return out
    }

    /// Consumer Conv2d without padding: weight [O, I/g, kh, kw]; element [o, i] reads input
    /// channel group(o)·(I/g) + i.
    static func beforeConv(_ c: Conv2d, _ t: ChannelAffine, biasName: String, options: FoldOptions) -> Conv2d {
        let outChannels = c.weight.shape[0]
        let inPerGroup = c.weight.shape[1]
        let taps = c.weight.shape[2] * c.weight.shape[3]
        let outPerGroup = outChannels / c.groups
        var out = c
        (out.weight, out.bias) = scaleInputs(
            weight: c.weight, bias: c.bias, biasName: biasName, outputs: outChannels, by: t,
            inputChannel: { i in
                let o = i / (inPerGroup * taps)
                return (o / outPerGroup) * inPerGroup + (i / taps) % inPerGroup
            }, outputOf: { $0 / (inPerGroup * taps) }, options: options)
        return out
    }

    /// Multiplies every weight (and optionally the bias) by `factor`, rounding once.
    static func scaled(_ t: Tensor, by factor: Double, options: FoldOptions) -> Tensor {
        Tensor(
            name: t.name, shape: t.shape,
            buffer: scaledBlocks(t.values, blockSize: t.count, by: t.count == 0 ? [] : [factor], options: options),
            storage: t.storage)
    }
}
