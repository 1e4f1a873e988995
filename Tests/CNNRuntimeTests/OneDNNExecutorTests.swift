// The executor with its Float32 convolutions on oneDNN (`ConvBackend.oneDNN`: BatchNorm and
// ReLU/Clip fused into the conv, activations kept in oneDNN's layout between convs) against the
// Float64 executor (native kernels), on every fixture model and the trained digits model, with
// shared buffers and with every value retained (each intermediate read back in NCHW), and in
// train mode (the unfused native path); residual Adds (MobileNetV2's and ResNet's blocks) run as
// oneDNN's sum post-op into the buffer of their other operand, a depthwise conv after a 1×1 one as
// its dw post-op.
import CNNGraph
import CNNKernels
import CNNTestSupport
import Testing

@testable import CNNRuntime

@Suite("oneDNN convolutions in the executor")
struct OneDNNExecutorTests {
    static let models = GraphExecutionTests.fixtureNames.map { $0 + ".cnnm" } + ["digits/digits_cnn.cnnm"]

    /// Every value both executors can read: the oneDNN plan's largest error against Float64 is
    /// within 4× the native Float32 plan's own (the verifier's rule), plus a floor of 1e-5·(1 + max |value|).
    @Test(arguments: models, [false, true])
    func matchesFloat64(_ model: String, retainAllValues: Bool) throws {
        let graph = try Graph(contentsOf: Repository.fixture(model))
        func plan(_ backend: ConvBackend) throws -> Executor<Float> {
            try ConvBackend.$current.withValue(backend) {
                try Executor<Float>(graph: graph, batch: 3, retainAllValues: retainAllValues)
            }
        }
        let oneDNN = try plan(.oneDNN), native = try plan(.native)
        let f64 = try Executor<Double>(graph: graph, batch: 3, retainAllValues: true)
        let x32: [String: NDArray<Float>] = GraphExecutionTests.input(graph, batch: 3)
        _ = try oneDNN.run(x32)
        _ = try native.run(x32)
        _ = try f64.run(x32.mapValues { $0.converted(to: Double.self) })
        var compared = 0
        for name in oneDNN.valueNames {
            guard let ours = oneDNN.value(named: name), let own = native.value(named: name),
                let ref = f64.value(named: name)
            else { continue }
            func maxError(_ v: [Float]) -> Double { zip(v, ref.values).map { abs(Double($0) - $1) }.max() ?? 0 }
            let bound = 4 * maxError(own.values) + 1e-5 * (1 + (ref.values.map(abs).max() ?? 0))
            #expect(
                maxError(ours.values) <= bound,
                "\(model) \(name) retained:\(retainAllValues): error \(maxError(ours.values)) > \(bound)")
            compared += 1
        }
        #expect(compared >= (retainAllValues ? graph.nodes.count : graph.outputs.count))
    }

    /// Train mode runs the fused nodes one by one on the native kernels: the same results and
    /// BatchNorm statistics as a plan made without oneDNN.
    @Test(arguments: GraphExecutionTests.fixtureNames)
    func trainModeIsTheNativePath(_ name: String) throws {
        let graph = try GraphExecutionTests.fixture(name)
        let x: [String: NDArray<Float>] = GraphExecutionTests.input(graph, batch: 2)
        let oneDNN = try ConvBackend.$current.withValue(.oneDNN) { try Executor<Float>(graph: graph, batch: 2) }
        let native = try ConvBackend.$current.withValue(.native) { try Executor<Float>(graph: graph, batch: 2) }
        let a = try oneDNN.run(x, mode: .train, seed: 5), b = try native.run(x, mode: .train, seed: 5)
        #expect(a.outputs == b.outputs)
        #expect(a.batchNormStatistics == b.batchNormStatistics)
    }

    /// A MobileNetV2 inverted-residual block (1×1 → depthwise 3×3 → 1×1, BatchNorm and Clip(0, 6),
    /// Add without activation) and a ResNet basic block (Add → ReLU, the skip value as the Add's
    /// first operand), 16 channels (whole blocks of 8 and 16); `outputAtSum` makes the last ReLU a
    /// graph output too, whose buffer cannot be the operand's (the operand is copied there).
    /// `adds`: each Add, the value its fused chain writes (the Add's, or the ReLU's after it), and
    /// its other operand.
    static func residualBlocks(outputAtSum: Bool) throws
        -> (Graph, adds: [(add: String, result: String, operand: String)])
    {
        var r = TestRandom(31)
        var b = GraphBuilder(name: "residual_blocks")
        var count = 0
        func tensor(_ shape: [Int], _ lo: Double = -1, _ hi: Double = 1) -> Tensor {
            count += 1
            let n = shape.reduce(1, *), scale = 1 / Double(shape.dropFirst().reduce(1, *)).squareRoot()
            return Tensor(
                name: "t\(count)", shape: shape, values: (0..<n).map { _ in Float(r.uniform(lo, hi) * scale) })
        }
        func convBN(
            _ name: String, _ x: String, _ cin: Int, _ cout: Int, k: Int, groups: Int = 1, _ act: CNNGraph.Activation?
        ) -> String {
            let conv = Conv2d(
                weight: tensor([cout, cin / groups, k, k], -2, 2), bias: tensor([cout]),
                window: Window2d(k: k, p: k / 2),
                groups: groups)
            let bn = BatchNorm(
                scale: tensor([cout], 0.5, 2), bias: tensor([cout]), runningMean: tensor([cout]),
                runningVariance: tensor([cout], 0.5, 1.5))
            var y = b.add(name + ".bn", .batchNorm(bn), b.add(name, .conv2d(conv), x))
            if let act { y = b.add(name + ".act", .activation(act), y) }
            return y
        }
        let x = b.input("x", [.symbol("N"), .fixed(16), .fixed(10), .fixed(9)])
        let stem = convBN("stem", x, 16, 16, k: 3, .relu)
        var y = convBN("expand", stem, 16, 32, k: 1, .clip(min: 0, max: 6))
        y = convBN("depthwise", y, 32, 32, k: 3, groups: 32, .clip(min: 0, max: 6))
        y = convBN("project", y, 32, 16, k: 1, nil)
        let mobile = b.add("mobile.add", .add, y, stem)
        y = convBN("conv1", mobile, 16, 16, k: 3, .relu)
        y = convBN("conv2", y, 16, 16, k: 3, nil)
        let resnet = b.add("resnet.relu", .activation(.relu), b.add("resnet.add", .add, mobile, y))
        b.output(b.add("pool", .globalPool(.average), resnet))
        if outputAtSum { b.output(resnet) }
        return (try b.build(), [("mobile.add", "mobile.add", "stem.act"), ("resnet.add", "resnet.relu", "mobile.add")])
    }

    /// The residual Adds fuse into the convolutions before them (no step of their own; the sum
    /// lands in the operand's buffer), the depthwise conv into the 1×1 conv before it (oneDNN's dw
    /// post-op), and the results match Float64 as closely as the native
    /// Float32 plan does: with the sum's output in a shared buffer and as a graph output, in
    /// oneDNN's layout for this CPU (run with `ONEDNN_MAX_CPU_ISA=AVX2` for nChw8c).
    @Test(arguments: [false, true])
    func residualAddsAsSumPostOps(outputAtSum: Bool) throws {
        let (graph, adds) = try Self.residualBlocks(outputAtSum: outputAtSum)
        let oneDNN = try ConvBackend.$current.withValue(.oneDNN) { try Executor<Float>(graph: graph, batch: 3) }
        let native = try ConvBackend.$current.withValue(.native) { try Executor<Float>(graph: graph, batch: 3) }
        let f64 = try Executor<Double>(graph: graph, batch: 3)
        let stepNodes = Set(oneDNN.steps.map { graph.nodes[$0.node].name })
        #expect(stepNodes.contains("expand") && !stepNodes.contains("depthwise"), "the depthwise conv is not fused")
        for (add, result, operand) in adds {
            #expect(!stepNodes.contains(add), "\(add) runs as a step of its own")
            if !outputAtSum || add == "mobile.add" {
                #expect(
                    oneDNN.bufferOf[result] == oneDNN.bufferOf[operand],
                    "\(add) is not summed into \(operand)'s buffer")
            }
        }
        let x32: [String: NDArray<Float>] = GraphExecutionTests.input(graph, batch: 3)
        let ours = try oneDNN.run(x32).outputs, own = try native.run(x32).outputs
        let ref = try f64.run(x32.mapValues { $0.converted(to: Double.self) }).outputs
        #expect(ours.count == graph.outputs.count)
        for (name, r) in ref {
            guard let a = ours[name], let n = own[name] else { continue }
            func maxError(_ v: [Float]) -> Double { zip(v, r.values).map { abs(Double($0) - $1) }.max() ?? 0 }
            let bound = 4 * maxError(n.values) + 1e-5 * (1 + (r.values.map(abs).max() ?? 0))
            #expect(maxError(a.values) <= bound, "\(name): error \(maxError(a.values)) > \(bound)")
        }
        // Run twice: the sum must not accumulate across runs.
        #expect(try oneDNN.run(x32).outputs == ours)
        // With every value retained (per-layer verification reads each Add's value) they are steps again.
        let unfused = try ConvBackend.$current.withValue(.oneDNN) {
            try Executor<Float>(graph: graph, batch: 3, retainAllValues: true)
        }
        #expect(Set(unfused.steps.map { graph.nodes[$0.node].name }).isSuperset(of: adds.map(\.add)))
    }
}
