// The executor with its Float32 convolutions on oneDNN (`ConvBackend.oneDNN`: BatchNorm and
// ReLU/Clip fused into the conv, activations kept in oneDNN's layout between convs) against the
// Float64 executor (native kernels), on every fixture model and the trained digits model, with
// shared buffers and with every value retained (each intermediate read back in NCHW), and in
// train mode (the unfused native path).
import CNNGraph
import CNNKernels
import CNNRuntime
import CNNTestSupport
import Testing

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
}
