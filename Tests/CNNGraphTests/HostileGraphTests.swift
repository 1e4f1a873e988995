// Issue 12: graphs a hostile or damaged file can describe — sizes that overflow or exhaust
// memory, unknown enum values, non-finite attributes — are refused at load with a typed error
// naming the node; nothing traps, wraps or allocates first.
import CNNFixtures
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

/// A graph as a file could describe it: no validation on the way (GraphBuilder would refuse).
func rawGraph(input: [CNNGraph.Dimension], _ ops: [(String, Op)], extraInputs: [ValueInfo] = []) -> Graph {
    var nodes: [Node] = []
    var x = "x"
    for (name, op) in ops {
        nodes.append(Node(name: name, op: op, inputs: [x], outputs: [name]))
        x = name
    }
    return Graph(
        name: "hostile", inputs: [ValueInfo(name: "x", shape: input)] + extraInputs,
        outputs: [ValueInfo(name: x, shape: [])], nodes: nodes)
}

func ones(_ name: String, _ shape: [Int], _ value: Float = 1) -> Tensor {
    Tensor(name: name, shape: shape, values: [Float](repeating: value, count: shape.reduce(1, *)))
}

/// What loading the file image of `graph` throws (nil when it loads).
func loadError(_ graph: Graph, limits: SizeLimits = SizeLimits()) throws -> GraphError? {
    let bytes = try graph.serialized()
    do { _ = try Graph(bytes: bytes, limits: limits); return nil } catch {
        guard case .graph(let e) = error.reason else { Issue.record("a format error: \(error)"); return nil }
        return e
    }
}

func isTooLarge(_ e: GraphError?, node: String) -> Bool {
    if case .tooLarge(let n, _)? = e { return n == node }
    return false
}

@Suite struct HostileGraphTests {
    // MARK: sizes

    @Test func aConvTransposeWithStride2To32Minus1IsRefusedNamingTheNode() throws {
        let stride = Int(UInt32.max)
        let up = ConvTranspose2d(
            weight: ones("up.w", [1, 1, 1, 1]), window: Window2d(kernel: (1, 1), stride: (stride, stride)))
        // (2 − 1)·(2^32 − 1) + 1 = 2^32 per side: 2^64 elements, past Int.
        #expect(up.outputSize(inputH: 2, inputW: 2)! == (1 << 32, 1 << 32))
        let e = try loadError(
            rawGraph(input: [.fixed(1), .fixed(1), .fixed(2), .fixed(2)], [("up", .convTranspose2d(up))]))
        #expect(isTooLarge(e, node: "up"), "\(String(describing: e))")
        #expect(e?.description.contains("'up'") == true)
    }

    @Test func sizeFormulasReportOverflowInsteadOfTrapping() {
        let huge = Int.max / 2
        let t = ConvTranspose2d(
            weight: ones("w", [1, 1, 1, 1]), window: Window2d(kernel: (1, 1), stride: (huge, huge)))
        #expect(t.outputSize(inputH: 4, inputW: 4) == nil)
        #expect(Window2d(kernel: (1, 1), padding: (huge, huge, huge, huge)).outputSize(inputH: 4, inputW: 4) == nil)
        #expect(Window2d(kernel: (3, 3), dilation: (huge, huge)).outputSize(inputH: 4, inputW: 4) == nil)
        #expect(Resize(mode: .nearest, scaleH: 1e300, scaleW: 1).outputSize(inputH: 4, inputW: 4) == nil)
        // Ceil mode by the formula: floor((5 + 2 − 3 + 1)/2) … = 3, as PyTorch.
        #expect(Window2d(k: 3, s: 2, p: 1).outputSize(inputH: 5, inputW: 5, ceilMode: true)! == (3, 3))
        #expect(checkedElementCount([1 << 32, 1 << 32]) == nil)
        #expect(checkedElementCount([3, 5, 7]) == 105)
    }

    @Test func aResizeByABillionIsRefusedNamingTheNode() throws {
        let e = try loadError(
            rawGraph(
                input: [.fixed(1), .fixed(3), .fixed(8), .fixed(8)],
                [("up", .resize(Resize(mode: .nearest, scaleH: 1e9, scaleW: 1e9)))]))
        #expect(isTooLarge(e, node: "up"), "\(String(describing: e))")
    }

    @Test func convPadsOf1e5AreRefusedNamingTheNode() throws {
        let conv = Conv2d(weight: ones("c.w", [8, 3, 3, 3]), window: Window2d(k: 3, p: 100_000))
        let e = try loadError(rawGraph(input: [.fixed(1), .fixed(3), .fixed(8), .fixed(8)], [("conv", .conv2d(conv))]))
        // 8 × 200,006² ≈ 3.2e11 elements: more than 2^32.
        #expect(isTooLarge(e, node: "conv"), "\(String(describing: e))")
    }

    @Test(arguments: [[1, 3, 1 << 31, 1 << 31], [1 << 40, 3, 8, 8], [1 << 62, 1 << 62]])
    func hugeInputsAreRefusedNamingTheInput(_ shape: [Int]) throws {
        let e = try loadError(rawGraph(input: shape.map { .fixed($0) }, [("relu", .activation(.relu))]))
        #expect(isTooLarge(e, node: "x"), "\(String(describing: e))")
    }

    @Test func theBatchIsBoundedToo() throws {
        let g = rawGraph(input: [.symbol("N"), .fixed(3), .fixed(64), .fixed(64)], [("relu", .activation(.relu))])
        #expect(throws: Never.self) { try g.validate(batch: 8) }
        #expect(throws: GraphError.self) { try g.validate(batch: 1 << 40) }
    }

    @Test func theActivationsAliveAtOnceAreBounded() throws {
        // Each value is 0.75 MiB (under the 1 MiB per-value limit); three alive at once are not.
        let limits = SizeLimits(maxActivationBytes: 1 << 20)
        let g = rawGraph(
            input: [.fixed(1), .fixed(3), .fixed(256), .fixed(256)],
            [("a", .activation(.relu)), ("b", .activation(.sigmoid))])
        let e: GraphError?
        do { try g.validate(limits: limits); e = nil } catch { e = error }
        // Running b, its input a and the graph input x are alive too.
        #expect(isTooLarge(e, node: "b"), "\(String(describing: e))")
        let (peak, node) = g.activationPeak(try g.inferShapes())
        #expect(peak == 3 * (3 * 256 * 256 * 4) && node == "b")
        #expect(throws: Never.self) { try g.validate(limits: SizeLimits(maxActivationBytes: 4 << 20)) }
    }

    @Test func limitsParseAsUsersWriteThem() {
        #expect(SizeLimits.parseBytes("16G") == 16 << 30)
        #expect(SizeLimits.parseBytes("512MiB") == 512 << 20)
        #expect(SizeLimits.parseBytes("1000000") == 1_000_000)
        #expect(SizeLimits.parseBytes("5T") == nil)  // past the 4 TiB ceiling
        #expect(SizeLimits.parseBytes("-1G") == nil)
        #expect(SizeLimits.parseBytes("lots") == nil)
        #expect(SizeLimits().maxElementsPerValue == 1 << 32)
    }

    // MARK: values that trapped in inspect

    @Test func inspectHandlesABatchNormWithVarianceZeroAndEpsilonZero() throws {
        var g = try FixtureModels.smallCNN()
        guard case .batchNorm(var bn) = g.nodes[1].op else { Issue.record("bn1 expected"); return }
        bn.runningVariance = ones(bn.runningVariance.name, bn.runningVariance.shape, 0)
        bn.epsilon = 0
        g.nodes[1].op = .batchNorm(bn)
        let loaded = try Graph(bytes: try g.serialized())  // the spec allows ε = 0
        let report = try InspectionReport(graph: loaded)
        #expect(report.batchNorm[0].maxScale == .infinity)
        #expect(report.warnings.contains { $0.contains("×inf") })
        #expect(sci(.infinity) == "inf" && sci(-.infinity) == "-inf" && sci(.nan) == "nan")
    }

    @Test func macsOfHugeShapesSaturateInsteadOfTrapping() {
        let conv = Op.conv2d(Conv2d(weight: ones("w", [1, 1, 1, 1]), window: Window2d(k: 1)))
        #expect(conv.macs(inputShapes: [[1 << 31, 1, 1 << 31, 1]], outputShape: [1 << 31, 1, 1 << 31, 4]) == Int.max)
    }

    @Test func outputsDeclaredWithoutAShapeGetTheInferredOne() throws {
        let g = rawGraph(input: [.symbol("N"), .fixed(3), .fixed(4), .fixed(4)], [("pool", .globalPool(.average))])
        let loaded = try Graph(bytes: try g.serialized())
        #expect(loaded.outputs[0].shape == [.symbol("N"), .fixed(3), .fixed(1), .fixed(1)])
    }

    // MARK: attributes

    @Test(arguments: [
        Op.activation(.leakyRelu(alpha: .nan)),
        Op.activation(.hardSigmoid(alpha: .infinity, beta: 0.5)),
        Op.activation(.clip(min: .nan, max: 6)),
        Op.lrn(LRN(size: 3, alpha: .nan)),
        Op.layerNorm(LayerNorm(scale: nil, bias: nil, epsilon: .infinity, axis: 1)),
        Op.groupNorm(GroupNorm(groups: 1, scale: nil, bias: nil, epsilon: .nan)),
        Op.instanceNorm(InstanceNorm(scale: nil, bias: nil, epsilon: .nan)),
        Op.dropout(Dropout(rate: .nan)),
    ])
    func nonFiniteAttributesAreRefusedNamingTheNode(_ op: Op) throws {
        let e = try loadError(rawGraph(input: [.fixed(1), .fixed(4), .fixed(4), .fixed(4)], [("bad", op)]))
        guard case .invalidAttribute(let node, _)? = e else {
            Issue.record("accepted: \(String(describing: e))"); return
        }
        #expect(node == "bad")
    }

    @Test func aBatchNormWithNaNMomentumIsRefused() throws {
        let bn = BatchNorm(
            scale: nil, bias: nil, runningMean: ones("m", [4], 0), runningVariance: ones("v", [4]), momentum: .nan)
        let e = try loadError(rawGraph(input: [.fixed(1), .fixed(4), .fixed(2), .fixed(2)], [("bn", .batchNorm(bn))]))
        guard case .invalidAttribute(let node, _)? = e else {
            Issue.record("accepted: \(String(describing: e))"); return
        }
        #expect(node == "bn")
    }

    // MARK: enums

    /// The file image of `graph` with its header changed by `edit`.
    func edited(_ graph: Graph, _ edit: (inout Cnnconv_V1_Model) -> Void) throws -> [UInt8] {
        let file = try ModelFile(bytes: try graph.serialized())
        var header = file.header
        edit(&header)
        let tensors = try file.tensorEntries.map { e in
            TensorPayload(name: e.name, dims: e.dims.map { Int($0) }, values: try file.values(of: e.name))
        }
        return try ModelFileWriter.serialize(header: header, tensors: tensors)
    }

    func expectUnknownEnum(_ bytes: [UInt8], node: String, field: String) {
        do {
            _ = try Graph(bytes: bytes)
            Issue.record("an unknown \(field) was accepted")
        } catch {
            #expect(error.reason == .graph(.unknownEnumValue(node: node, field: field, value: 7)))
            #expect(error.description.contains("'\(node)'") && error.description.contains(field))
        }
    }

    @Test func unknownEnumValuesAreRefusedNamingNodeAndField() throws {
        let x: [CNNGraph.Dimension] = [.fixed(1), .fixed(2), .fixed(4), .fixed(4)]
        let drop = rawGraph(input: x, [("d", .dropout(Dropout(rate: 0.5)))])
        expectUnknownEnum(
            try edited(drop) { $0.nodes[0].dropout.convention = .UNRECOGNIZED(7) }, node: "d",
            field: "dropout.convention")
        expectUnknownEnum(
            try edited(drop) { $0.nodes[0].dropout.granularity = .UNRECOGNIZED(7) }, node: "d",
            field: "dropout.granularity")
        let pool = rawGraph(input: x, [("p", .pool2d(Pool2d(kind: .max, window: Window2d(k: 2, s: 2))))])
        expectUnknownEnum(
            try edited(pool) { $0.nodes[0].pool2D.kind = .UNRECOGNIZED(7) }, node: "p", field: "pool2d.kind")
        let global = rawGraph(input: x, [("g", .globalPool(.max))])
        expectUnknownEnum(
            try edited(global) { $0.nodes[0].globalPool.kind = .UNRECOGNIZED(7) }, node: "g", field: "global_pool.kind")
        let resize = rawGraph(input: x, [("r", .resize(Resize(mode: .nearest, scaleH: 2, scaleW: 2)))])
        expectUnknownEnum(
            try edited(resize) { $0.nodes[0].resize.mode = .UNRECOGNIZED(7) }, node: "r", field: "resize.mode")
        expectUnknownEnum(
            try edited(resize) { $0.nodes[0].resize.coordinateTransform = .UNRECOGNIZED(7) }, node: "r",
            field: "resize.coordinate_transform")
        expectUnknownEnum(
            try edited(resize) { $0.nodes[0].resize.nearestRounding = .UNRECOGNIZED(7) }, node: "r",
            field: "resize.nearest_rounding")
    }
}
