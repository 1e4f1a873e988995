// The bundled fixture models, deterministic from a seed. `make-fixtures` writes them to
// fixtures/; tests rebuild them and compare bytes, so the committed files cannot drift.
import CNNGraph

/// The models committed under fixtures/, built in code from one seed so that `make-fixtures`
/// can rewrite them and tests can prove the committed bytes are still what the code makes.
public enum FixtureModels {
    /// The seed the committed fixtures were made with (a date, 2026-11-25).
    public static let defaultSeed: UInt64 = 20_261_125

    /// Every fixture by file stem.
    public static func all(seed: UInt64 = defaultSeed) throws -> [(name: String, graph: Graph)] {
        [
            ("small_cnn", try smallCNN(seed: seed)),
            ("resnet_mini", try residual(seed: seed)),
            ("mixed_ops", try mixedOps(seed: seed)),
            ("every_op", try everyOp(seed: seed)),
        ]
    }

    static let batch = Dimension.symbol("N")

    /// (a) conv-BN-ReLU-pool blocks, dropout, a linear head. 3×32×32 → 10 logits.
    public static func smallCNN(seed: UInt64 = defaultSeed) throws -> Graph {
        var p = ParameterFactory(seed: seed)
        var b = GraphBuilder(name: "small_cnn", metadata: ["description": "conv-BN-ReLU-pool ×3, dropout, linear head"])
        var x = b.input("image", [batch, .fixed(3), .fixed(32), .fixed(32)])
        var channels = 3
        for (i, width) in [16, 32, 64].enumerated() {
            let n = i + 1
            x = b.add("conv\(n)", p.conv("conv\(n)", channels, width, k: 3, p: 1), x)
            x = b.add("bn\(n)", p.batchNorm("bn\(n)", width), x)
            x = b.add("relu\(n)", .activation(.relu), x)
            if n < 3 { x = b.add("pool\(n)", .pool2d(Pool2d(kind: .max, window: Window2d(k: 2, s: 2))), x) }
            channels = width
        }
        x = b.add("gap", .globalPool(.average), x)
        x = b.add("flatten", .flatten(axis: 1), x)
        x = b.add("drop1", .dropout(Dropout(rate: 0.5)), x)
        x = b.add("fc", p.linear("fc", 64, 10), x)
        b.output(x)
        return try b.build()
    }

    /// (b) ResNet-style basic blocks with Add, one with a projection shortcut.
    public static func residual(seed: UInt64 = defaultSeed) throws -> Graph {
        var p = ParameterFactory(seed: seed &+ 1)
        var b = GraphBuilder(name: "resnet_mini", metadata: ["description": "ResNet basic blocks"])
        var x = b.input("image", [batch, .fixed(3), .fixed(32), .fixed(32)])
        x = b.add("stem.conv", p.conv("stem.conv", 3, 16, k: 3, p: 1, bias: false), x)
        x = b.add("stem.bn", p.batchNorm("stem.bn", 16), x)
        x = b.add("stem.relu", .activation(.relu), x)
        func block(_ name: String, _ x: String, _ cin: Int, _ cout: Int, stride: Int) -> String {
            var y = b.add("\(name).conv1", p.conv("\(name).conv1", cin, cout, k: 3, s: stride, p: 1, bias: false), x)
            y = b.add("\(name).bn1", p.batchNorm("\(name).bn1", cout), y)
            y = b.add("\(name).relu1", .activation(.relu), y)
            y = b.add("\(name).conv2", p.conv("\(name).conv2", cout, cout, k: 3, p: 1, bias: false), y)
            y = b.add("\(name).bn2", p.batchNorm("\(name).bn2", cout), y)
            var shortcut = x
            if stride != 1 || cin != cout {
                shortcut = b.add(
                    "\(name).down.conv", p.conv("\(name).down.conv", cin, cout, k: 1, s: stride, bias: false), x)
                shortcut = b.add("\(name).down.bn", p.batchNorm("\(name).down.bn", cout), shortcut)
            }
            let sum = b.add("\(name).add", .add, y, shortcut)
            return b.add("\(name).relu2", .activation(.relu), sum)
        }
        x = block("layer1.0", x, 16, 16, stride: 1)
        x = block("layer2.0", x, 16, 32, stride: 2)
        x = b.add("post.bn", p.batchNorm("post.bn", 32), x)  // after an Add: cannot fold into a producer
        x = b.add("gap", .globalPool(.average), x)
        x = b.add("flatten", .flatten(axis: 1), x)
        x = b.add("fc", p.linear("fc", 32, 10), x)
        b.output(x)
        return try b.build()
    }

    /// (c) depthwise and grouped convs, a conv without bias, ConvTranspose+BN, Linear+BN1d,
    /// classic dropout on the input, a BN on the graph input, channel-wise dropout.
    public static func mixedOps(seed: UInt64 = defaultSeed) throws -> Graph {
        var p = ParameterFactory(seed: seed &+ 2)
        var b = GraphBuilder(
            name: "mixed_ops", metadata: ["description": "depthwise, grouped, transposed, BN1d, classic dropout"])
        var x = b.input("image", [batch, .fixed(3), .fixed(16), .fixed(16)])
        x = b.add("bn_in", p.batchNorm("bn_in", 3), x)
        x = b.add("drop_in", .dropout(Dropout(rate: 0.2, convention: .classic)), x)
        x = b.add("conv1", p.conv("conv1", 3, 16, k: 3, p: 1, bias: false), x)
        x = b.add("bn1", p.batchNorm("bn1", 16), x)
        x = b.add("relu6_1", .activation(.clip(min: 0, max: 6)), x)
        x = b.add("dw2", p.conv("dw2", 16, 16, k: 3, s: 2, p: 1, groups: 16), x)
        x = b.add("bn2", p.batchNorm("bn2", 16, epsilon: 1e-3), x)
        x = b.add("relu2", .activation(.relu), x)
        x = b.add("drop2", .dropout(Dropout(rate: 0.1, convention: .inverted, granularity: .channel)), x)
        x = b.add("gconv3", p.conv("gconv3", 16, 32, k: 1, groups: 4), x)
        x = b.add("bn3", p.batchNorm("bn3", 32, affine: false), x)
        x = b.add("hswish3", .activation(.hardSwish), x)
        let up = ConvTranspose2d(
            weight: p.weight("up4.weight", [32, 12 / 2, 2, 2], fanIn: 32 * 4 / 2),
            bias: p.bias("up4.bias", 12), window: Window2d(k: 2, s: 2), groups: 2)
        x = b.add("up4", .convTranspose2d(up), x)
        x = b.add("bn4", p.batchNorm("bn4", 12), x)
        x = b.add("relu4", .activation(.relu), x)
        x = b.add("gap", .globalPool(.average), x)
        x = b.add("flatten", .flatten(axis: 1), x)
        x = b.add("fc1", p.linear("fc1", 12, 32), x)
        x = b.add("bn_fc1", p.batchNorm("bn_fc1", 32), x)
        x = b.add("relu_fc1", .activation(.relu), x)
        x = b.add("drop_fc", .dropout(Dropout(rate: 0.5, convention: .classic)), x)
        x = b.add("fc2", p.linear("fc2", 32, 10), x)
        x = b.add("softmax", .softmax(axis: 1), x)
        b.output(x)
        return try b.build()
    }

    /// Every op and attribute the format carries, for round-trip and executor coverage.
    public static func everyOp(seed: UInt64 = defaultSeed) throws -> Graph {
        var p = ParameterFactory(seed: seed &+ 3)
        var b = GraphBuilder(name: "every_op", metadata: ["description": "one of every op", "license": "CC0"])
        let image = b.input("image", [batch, .fixed(4), .fixed(9), .fixed(11)])
        var x = b.add(
            "conv_asym",
            .conv2d(
                Conv2d(
                    weight: p.weight("conv_asym.weight", [8, 4, 3, 2]), bias: p.bias("conv_asym.bias", 8),
                    window: Window2d(kernel: (3, 2), stride: (2, 1), dilation: (1, 2), padding: (0, 1, 2, 1))), ), image
        )
        x = b.add("leaky", .activation(.leakyRelu(alpha: 0.1)), x)
        x = b.add(
            "conv_wn",
            .conv2d(
                Conv2d(
                    weight: p.weight("conv_wn.v", [8, 8, 1, 1]), bias: nil, window: Window2d(k: 1),
                    reparameterization: .weightNorm(gain: p.tensor("conv_wn.g", [8]) { 0.5 + $0.uniform() }))), x)
        x = b.add(
            "conv_ws",
            .conv2d(
                Conv2d(
                    weight: p.weight("conv_ws.weight", [8, 4, 3, 3]), bias: p.bias("conv_ws.bias", 8),
                    window: Window2d(k: 3, p: 1), groups: 2,
                    reparameterization: .weightStandardization(epsilon: 1e-5))), x)
        x = b.add("sigmoid", .activation(.sigmoid), x)
        let pooled = b.add(
            "avgpool",
            .pool2d(
                Pool2d(
                    kind: .average, window: Window2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1, 1, 1)),
                    ceilMode: true, countIncludePad: true)), x)
        let maxed = b.add("maxpool", .pool2d(Pool2d(kind: .max, window: Window2d(k: 3, s: 2, p: 1), ceilMode: true)), x)
        x = b.add("concat", .concat(axis: 1), pooled, maxed)
        x = b.add("lrn", .lrn(LRN(size: 3, alpha: 1e-3, beta: 0.75, bias: 1)), x)
        x = b.add("shuffle", .channelShuffle(groups: 4), x)
        x = b.add(
            "gn",
            .groupNorm(
                GroupNorm(
                    groups: 4, scale: p.tensor("gn.weight", [16]) { 1 + $0.gaussian(std: 0.1) },
                    bias: p.bias("gn.bias", 16))), x)
        x = b.add("tanh", .activation(.tanh), x)
        x = b.add(
            "in",
            .instanceNorm(
                InstanceNorm(
                    scale: p.tensor("in.weight", [16]) { 1 + $0.gaussian(std: 0.1) },
                    bias: p.bias("in.bias", 16))), x)
        x = b.add("hsig", .activation(.hardSigmoid(alpha: 0.2, beta: 0.5)), x)
        x = b.add(
            "up_nearest",
            .resize(
                Resize(mode: .nearest, scaleH: 2, scaleW: 2, coordinateTransform: .asymmetric, nearestRounding: .floor)),
            x)
        x = b.add(
            "up_linear", .resize(Resize(mode: .bilinear, scaleH: 1.5, scaleW: 1.5, coordinateTransform: .halfPixel)), x)
        let se = b.add("se.pool", .globalPool(.max), x)
        let gate = b.add("se.sigmoid", .activation(.sigmoid), se)
        x = b.add("se.mul", .mul, x, gate)
        x = b.add(
            "affine",
            .affine(
                Affine(
                    scale: p.tensor("affine.scale", [16]) { 1 + $0.gaussian(std: 0.2) },
                    shift: p.bias("affine.shift", 16))), x)
        x = b.add("silu", .activation(.silu), x)
        x = b.add("identity", .identity, x)
        x = b.add(
            "ln",
            .layerNorm(
                LayerNorm(
                    scale: p.tensor("ln.weight", [16 * 9 * 18]) { 1 + $0.gaussian(std: 0.1) },
                    bias: nil, epsilon: 1e-5, axis: 1)), x)
        x = b.add("gap", .globalPool(.average), x)
        x = b.add("flatten", .flatten(axis: 1), x)
        x = b.add(
            "fc_ws",
            .linear(
                Linear(
                    weight: p.weight("fc_ws.weight", [8, 16]), bias: p.bias("fc_ws.bias", 8),
                    reparameterization: .weightStandardization(epsilon: 1e-5))), x)
        x = b.add("clip", .activation(.clip(min: -1, max: 2)), x)
        x = b.add(
            "fc_wn",
            .linear(
                Linear(
                    weight: p.weight("fc_wn.v", [6, 8]), bias: nil,
                    reparameterization: .weightNorm(gain: p.tensor("fc_wn.g", [6]) { 0.5 + $0.uniform() }))), x)
        let a = b.add("hswish", .activation(.hardSwish), x)
        let c = b.add("relu6", .activation(.clip(min: 0, max: 6)), x)
        x = b.add("add3", .add, a, c, x)
        x = b.add("softmax", .softmax(axis: -1), x)
        b.output(x)
        return try b.build()
    }
}
