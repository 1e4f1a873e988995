// The C loader reads a file exactly as the Swift reader does: metadata, inputs/outputs, nodes
// and their attributes, the tensor table, and every tensor's values (f32/f16/bf16 ×
// raw/deflate/shuffle), zero-copy and 64-byte aligned for raw f32.
import CCNNLoader
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import XCTest

/// A model using every storage format and many ops, so one file exercises the whole reader.
func kitchenSinkGraph() throws -> Graph {
    var rng = TestRandom(7)
    let formats: [StorageFormat] = StorageFormat.ElementType.allCases.flatMap { t in
        StorageFormat.Encoding.allCases.map { StorageFormat(t, $0) }
    }
    var next = 0
    func tensor(_ name: String, _ shape: [Int]) -> Tensor {
        defer { next += 1 }
        let f = formats[next % formats.count]
        return Tensor(name: name, shape: shape, values: f.roundTripped(rng.floats(shape.reduce(1, *))), storage: f)
    }
    var b = GraphBuilder(name: "kitchen-sink", metadata: ["author": "tests", "dataset": "none", "ünïcode": "✓"])
    let x = b.input("x", [.symbol("N"), .fixed(4), .fixed(9), .fixed(9)])
    let c1 = b.add(
        "conv1",
        .conv2d(
            Conv2d(
                weight: tensor("conv1.weight", [8, 4, 3, 3]), bias: tensor("conv1.bias", [8]),
                window: Window2d(kernel: (3, 3), stride: (2, 1), dilation: (1, 2), padding: (1, 2, 0, 1)))), x)
    let bn = b.add(
        "bn1",
        .batchNorm(
            BatchNorm(
                scale: tensor("bn1.scale", [8]), bias: tensor("bn1.bias", [8]),
                runningMean: tensor("bn1.mean", [8]),
                runningVariance: Tensor(name: "bn1.var", shape: [8], values: (0..<8).map { Float($0) * 0.25 + 0.5 }),
                epsilon: 1e-3, momentum: 0.05, numBatchesTracked: 12)), c1)
    let r = b.add("relu1", .activation(.relu), bn)
    let dw = b.add(
        "dw",
        .conv2d(
            Conv2d(
                weight: tensor("dw.weight", [8, 1, 3, 3]), bias: nil,
                window: Window2d(k: 3, s: 1, p: 1), groups: 8)), r)
    let d = b.add("drop", .dropout(Dropout(rate: 0.25, convention: .classic, granularity: .channel)), dw)
    let p = b.add(
        "pool",
        .pool2d(
            Pool2d(
                kind: .average, window: Window2d(kernel: (2, 2), stride: (2, 2), padding: (1, 0, 1, 0)),
                ceilMode: true, countIncludePad: true)), d)
    let a = b.add("affine", .affine(Affine(scale: tensor("affine.scale", [8]), shift: tensor("affine.shift", [8]))), p)
    let hs = b.add("hswish", .activation(.hardSwish), a)
    let g = b.add("gap", .globalPool(.average), hs)
    let f = b.add("flat", .flatten(axis: 1), g)
    let l = b.add("fc", .linear(Linear(weight: tensor("fc.weight", [5, 8]), bias: tensor("fc.bias", [5]))), f)
    let c = b.add("clip", .activation(.clip(min: -0.5, max: 2.5)), l)
    let lr = b.add("leaky", .activation(.leakyRelu(alpha: 0.125)), c)
    let hsg = b.add("hsig", .activation(.hardSigmoid(alpha: 0.2, beta: 0.5)), lr)
    let cat = b.add("cat", .concat(axis: 1), lr, hsg)
    let s = b.add("softmax", .softmax(axis: -1), cat)
    b.output(s)
    var graph = try b.build()
    graph.appliedPasses = ["fold-batchnorm", "eliminate-dropout"]
    return graph
}

final class LoaderReadsLikeSwiftTests: XCTestCase {
    func testReadsEveryFieldAndTensorLikeTheSwiftReader() throws {
        let bytes = try kitchenSinkGraph().serialized()
        let swift = try ModelFile(bytes: bytes)
        for aligned in [true, false] {
            guard let c = CLoader.open(bytes: bytes, aligned: aligned).model else {
                return XCTFail("C refused: \(CLoader.open(bytes: bytes).message)")
            }
            try compare(c.pointer, swift)
        }
        // And through mmap.
        let path = NSTemporaryDirectory() + "cnnm-kitchen-\(getpid()).cnnm"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let opened = CLoader.open(path: path)
        guard let c = opened.model else { return XCTFail("C refused \(path): \(opened.message)") }
        try compare(c.pointer, swift)
    }

    func testEmptyTensorTableAndDefaults() throws {
        var b = GraphBuilder(name: "")
        let x = b.input("x", [.fixed(1), .fixed(3)])
        b.output(b.add("id", .identity, x))
        let bytes = try b.build().serialized()
        guard let c = CLoader.open(bytes: bytes).model else { return XCTFail("refused") }
        XCTAssertEqual(cnnm_tensor_count(c.pointer), 0)
        XCTAssertEqual(String(cString: cnnm_model_name(c.pointer)), "")
        XCTAssertNil(cnnm_tensor_at(c.pointer, 0))
        XCTAssertNil(cnnm_node_at(c.pointer, 1))
        XCTAssertNil(cnnm_metadata_get(c.pointer, "missing"))
    }

    /// Every `fixtures/**/*.cnnm` the repository holds reads alike (none yet: the test then
    /// checks nothing, and starts checking when fixtures land).
    func testRepositoryFixturesReadLikeSwift() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let fixtures = root.appendingPathComponent("fixtures")
        guard let walker = FileManager.default.enumerator(atPath: fixtures.path) else { return }
        for case let relative as String in walker where relative.hasSuffix(".cnnm") {
            let path = fixtures.appendingPathComponent(relative).path
            let opened = CLoader.open(path: path)
            let swift: ModelFile
            do { swift = try ModelFile(path: path) } catch {
                XCTAssertEqual(opened.status, expectedStatus(error.reason), "\(relative): \(opened.message)")
                continue
            }
            if (try? Graph(file: swift)) == nil {
                XCTAssertNotEqual(opened.status, CNNM_OK, "\(relative): Swift refuses the graph, C accepts it")
                continue
            }
            guard let c = opened.model else { XCTFail("\(relative): C refused: \(opened.message)"); continue }
            try compare(c.pointer, swift)
        }
    }

    // MARK: - comparison

    func compare(_ m: OpaquePointer, _ swift: ModelFile, file: StaticString = #filePath, line: UInt = #line) throws {
        let h = swift.header
        var major: UInt32 = 0, minor: UInt32 = 0
        cnnm_format_version(m, &major, &minor)
        XCTAssertEqual(UInt16(major), swift.preamble.majorVersion)
        XCTAssertEqual(UInt16(minor), swift.preamble.minorVersion)
        XCTAssertEqual(String(cString: cnnm_model_name(m)), h.name)
        XCTAssertEqual(String(cString: cnnm_model_producer(m)), h.producer)
        var metadata: [String: String] = [:]
        for i in 0..<cnnm_metadata_count(m) {
            metadata[String(cString: cnnm_metadata_key(m, i))] = String(cString: cnnm_metadata_value(m, i))
        }
        XCTAssertEqual(metadata, h.metadata)
        for (k, v) in h.metadata { XCTAssertEqual(cnnm_metadata_get(m, k).map { String(cString: $0) }, v) }
        XCTAssertEqual(
            (0..<cnnm_applied_pass_count(m)).map { String(cString: cnnm_applied_pass(m, $0)) }, h.appliedPasses)

        func compareValues(_ c: UnsafePointer<cnnm_value_info>?, _ s: Cnnconv_V1_ValueInfo) {
            guard let c = c?.pointee else { return XCTFail("missing value info \(s.name)") }
            XCTAssertEqual(String(cString: c.name), s.name)
            XCTAssertEqual(Int(c.dtype.rawValue), s.dtype.rawValue)
            XCTAssertEqual(c.rank, s.shape.count)
            for (i, d) in s.shape.enumerated() {
                switch d.value {
                case .size(let n)?: XCTAssertEqual(c.dims[i].size, Int64(n)); XCTAssertNil(c.dims[i].symbol)
                case .symbol(let sym)?:
                    XCTAssertEqual(c.dims[i].size, -1);
                    XCTAssertEqual(c.dims[i].symbol.map { String(cString: $0) }, sym)
                case nil: XCTAssertEqual(c.dims[i].size, -1)
                }
            }
        }
        XCTAssertEqual(cnnm_input_count(m), h.inputs.count)
        for (i, v) in h.inputs.enumerated() { compareValues(cnnm_input(m, i), v) }
        XCTAssertEqual(cnnm_output_count(m), h.outputs.count)
        for (i, v) in h.outputs.enumerated() { compareValues(cnnm_output(m, i), v) }

        // Tensors: table fields, then values bit for bit.
        XCTAssertEqual(cnnm_tensor_count(m), h.tensors.count)
        let dataOffset = swift.preamble.dataOffset
        for (i, e) in h.tensors.enumerated() {
            guard let t = cnnm_tensor_at(m, i)?.pointee else { XCTFail("no tensor \(i)"); continue }
            XCTAssertEqual(String(cString: t.name), e.name)
            XCTAssertEqual(cnnm_tensor_find(m, e.name), cnnm_tensor_at(m, i))
            XCTAssertEqual(Int(t.dtype.rawValue), e.dtype.rawValue)
            XCTAssertEqual(Int(t.encoding.rawValue), e.encoding.rawValue)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: t.dims, count: t.rank)), e.dims)
            XCTAssertEqual(t.count, e.dims.reduce(1, *))
            XCTAssertEqual(t.file_offset, dataOffset + e.offset)
            XCTAssertEqual(t.stored_length, e.storedLength)
            XCTAssertEqual(t.crc32, e.crc32)
            let expected = try swift.values(of: e.name).array
            let actual = Array(UnsafeBufferPointer(start: t.data, count: Int(t.count)))
            XCTAssertEqual(actual.map(\.bitPattern), expected.map(\.bitPattern), "values of \(e.name)")
            let isF32Raw = e.dtype == .float32 && e.encoding == .raw
            XCTAssertEqual(t.mapped != 0, isF32Raw, "\(e.name) zero-copy")
            if isF32Raw, let data = t.data { XCTAssertEqual(Int(bitPattern: data) % 64, 0, "\(e.name) alignment") }
        }

        // Nodes and attributes, against the header the Swift reader decoded.
        XCTAssertEqual(cnnm_node_count(m), h.nodes.count)
        func name(_ t: UnsafePointer<cnnm_tensor>?) -> String { t.map { String(cString: $0.pointee.name) } ?? "" }
        func window(_ w: cnnm_window, _ s: Cnnconv_V1_Window2d) {
            XCTAssertEqual(
                [
                    w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w, w.pad_top, w.pad_left,
                    w.pad_bottom, w.pad_right,
                ],
                [
                    s.kernelH, s.kernelW, s.strideH, s.strideW, s.dilationH, s.dilationW, s.padTop, s.padLeft,
                    s.padBottom, s.padRight,
                ])
        }
        func reparameterization(_ c: cnnm_reparameterization, _ s: Cnnconv_V1_WeightReparameterization?) {
            switch s?.kind {
            case .weightNorm(let wn)?:
                XCTAssertEqual(c.kind, CNNM_REPARAM_WEIGHT_NORM); XCTAssertEqual(name(c.gain), wn.gain)
            case .weightStandardization(let ws)?:
                XCTAssertEqual(c.kind, CNNM_REPARAM_WEIGHT_STANDARDIZATION); XCTAssertEqual(c.epsilon, ws.epsilon)
            case nil: XCTAssertEqual(c.kind, CNNM_REPARAM_NONE)
            }
        }
        for (i, s) in h.nodes.enumerated() {
            guard let n = cnnm_node_at(m, i)?.pointee else { XCTFail("no node \(i)"); continue }
            XCTAssertEqual(String(cString: n.name), s.name)
            XCTAssertEqual((0..<n.n_inputs).map { String(cString: n.inputs[$0]!) }, s.inputs)
            XCTAssertEqual((0..<n.n_outputs).map { String(cString: n.outputs[$0]!) }, s.outputs)
            let a = n.attr
            switch s.op {
            case .conv2D(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_CONV2D)
                XCTAssertEqual(name(a.conv2d.weight), o.weight); XCTAssertEqual(name(a.conv2d.bias), o.bias)
                window(a.conv2d.window, o.window); XCTAssertEqual(a.conv2d.groups, o.groups)
                reparameterization(a.conv2d.reparameterization, o.hasReparameterization ? o.reparameterization : nil)
            case .batchNorm(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_BATCH_NORM)
                XCTAssertEqual(name(a.batch_norm.scale), o.scale); XCTAssertEqual(name(a.batch_norm.bias), o.bias)
                XCTAssertEqual(name(a.batch_norm.running_mean), o.runningMean)
                XCTAssertEqual(name(a.batch_norm.running_variance), o.runningVariance)
                XCTAssertEqual(a.batch_norm.epsilon, o.epsilon); XCTAssertEqual(a.batch_norm.momentum, o.momentum)
                XCTAssertEqual(a.batch_norm.affine != 0, o.affine);
                XCTAssertEqual(a.batch_norm.num_batches_tracked, o.numBatchesTracked)
            case .dropout(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_DROPOUT)
                XCTAssertEqual(a.dropout.rate, o.rate)
                XCTAssertEqual(a.dropout.classic != 0, o.convention == .classic)
                XCTAssertEqual(a.dropout.channelwise != 0, o.granularity == .channel)
            case .linear(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_LINEAR)
                XCTAssertEqual(name(a.linear.weight), o.weight); XCTAssertEqual(name(a.linear.bias), o.bias)
                reparameterization(a.linear.reparameterization, o.hasReparameterization ? o.reparameterization : nil)
            case .relu?: XCTAssertEqual(n.op, CNNM_OP_RELU)
            case .clip(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_CLIP); XCTAssertEqual(a.clip.min, o.min); XCTAssertEqual(a.clip.max, o.max)
            case .leakyRelu(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_LEAKY_RELU); XCTAssertEqual(a.leaky_relu.alpha, o.alpha)
            case .hardSigmoid(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_HARD_SIGMOID)
                XCTAssertEqual(a.hard_sigmoid.alpha, o.alpha); XCTAssertEqual(a.hard_sigmoid.beta, o.beta)
            case .hardSwish?: XCTAssertEqual(n.op, CNNM_OP_HARD_SWISH)
            case .pool2D(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_POOL2D)
                XCTAssertEqual(a.pool2d.kind == CNNM_POOL_AVERAGE, o.kind == .average)
                window(a.pool2d.window, o.window)
                XCTAssertEqual(a.pool2d.ceil_mode != 0, o.ceilMode);
                XCTAssertEqual(a.pool2d.count_include_pad != 0, o.countIncludePad)
            case .globalPool(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_GLOBAL_POOL);
                XCTAssertEqual(a.global_pool.kind == CNNM_POOL_AVERAGE, o.kind == .average)
            case .flatten(let o)?: XCTAssertEqual(n.op, CNNM_OP_FLATTEN); XCTAssertEqual(a.flatten.axis, o.axis)
            case .concat(let o)?: XCTAssertEqual(n.op, CNNM_OP_CONCAT); XCTAssertEqual(a.concat.axis, o.axis)
            case .softmax(let o)?: XCTAssertEqual(n.op, CNNM_OP_SOFTMAX); XCTAssertEqual(a.softmax.axis, o.axis)
            case .affine(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_AFFINE)
                XCTAssertEqual(name(a.affine.scale), o.scale); XCTAssertEqual(name(a.affine.shift), o.shift)
            case .identity?: XCTAssertEqual(n.op, CNNM_OP_IDENTITY)
            case .add?: XCTAssertEqual(n.op, CNNM_OP_ADD)
            case .mul?: XCTAssertEqual(n.op, CNNM_OP_MUL)
            case .convTranspose2D(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_CONV_TRANSPOSE2D)
                XCTAssertEqual(name(a.conv_transpose2d.weight), o.weight);
                XCTAssertEqual(name(a.conv_transpose2d.bias), o.bias)
                window(a.conv_transpose2d.window, o.window); XCTAssertEqual(a.conv_transpose2d.groups, o.groups)
                XCTAssertEqual(a.conv_transpose2d.output_padding_h, o.outputPaddingH);
                XCTAssertEqual(a.conv_transpose2d.output_padding_w, o.outputPaddingW)
            case .layerNorm(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_LAYER_NORM)
                XCTAssertEqual(name(a.layer_norm.scale), o.scale); XCTAssertEqual(name(a.layer_norm.bias), o.bias)
                XCTAssertEqual(a.layer_norm.epsilon, o.epsilon); XCTAssertEqual(a.layer_norm.axis, o.axis)
            case .groupNorm(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_GROUP_NORM); XCTAssertEqual(a.group_norm.num_groups, o.numGroups)
                XCTAssertEqual(name(a.group_norm.scale), o.scale); XCTAssertEqual(name(a.group_norm.bias), o.bias)
                XCTAssertEqual(a.group_norm.epsilon, o.epsilon)
            case .instanceNorm(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_INSTANCE_NORM)
                XCTAssertEqual(name(a.instance_norm.scale), o.scale); XCTAssertEqual(name(a.instance_norm.bias), o.bias)
                XCTAssertEqual(a.instance_norm.epsilon, o.epsilon)
            case .lrn(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_LRN)
                XCTAssertEqual([a.lrn.alpha, a.lrn.beta, a.lrn.bias], [o.alpha, o.beta, o.bias]);
                XCTAssertEqual(a.lrn.size, o.size)
            case .channelShuffle(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_CHANNEL_SHUFFLE); XCTAssertEqual(a.channel_shuffle.groups, o.groups)
            case .resize(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_RESIZE)
                XCTAssertEqual(a.resize.bilinear != 0, o.mode == .bilinear)
                XCTAssertEqual(a.resize.scale_h, o.scaleH); XCTAssertEqual(a.resize.scale_w, o.scaleW)
                XCTAssertEqual(Int(a.resize.coordinate_transform), o.coordinateTransform.rawValue)
                XCTAssertEqual(Int(a.resize.nearest_rounding), o.nearestRounding.rawValue)
            case .sigmoid?: XCTAssertEqual(n.op, CNNM_OP_SIGMOID)
            case .tanh?: XCTAssertEqual(n.op, CNNM_OP_TANH)
            case .silu?: XCTAssertEqual(n.op, CNNM_OP_SILU)
            case .tensorOp(let o)?:
                XCTAssertEqual(n.op, CNNM_OP_TENSOR_OP); XCTAssertEqual(String(cString: a.tensor_op.kind), o.kind)
            case nil: XCTAssertEqual(n.op, CNNM_OP_UNKNOWN)
            }
        }
    }
}
