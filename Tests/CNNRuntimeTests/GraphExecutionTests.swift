// Graph-level behaviour: every fixture model runs (f32 and f64 agree, batch > 1, all modes),
// buffer sharing does not change results, intermediates are readable, reparameterized Conv and
// Linear match a naive Float64 reference written here, and errors are typed.
import CNNFixtures
import CNNGraph
import CNNKernels
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

@Suite("Graph execution")
struct GraphExecutionTests {
    static let fixtureNames = ["small_cnn", "resnet_mini", "mixed_ops", "every_op"]

    static func fixture(_ name: String) throws -> Graph {
        try Graph(contentsOf: Repository.fixture(name + ".cnnm"))
    }

    static func input<S: KernelScalar>(_ graph: Graph, batch: Int, seed: UInt64 = 7, _: S.Type = S.self) -> [String:
        NDArray<S>]
    {
        var r = TestRandom(seed)
        var out: [String: NDArray<S>] = [:]
        for i in graph.inputs { out[i.name] = r.array(i.concreteShape(batch: batch), S.self) }
        return out
    }

    @Test("every fixture runs; Float32 agrees with Float64", arguments: fixtureNames, [1, 3])
    func float32AgreesWithFloat64(_ name: String, batch: Int) throws {
        let graph = try Self.fixture(name)
        let f32 = try Executor<Float>(graph: graph, batch: batch)
        let f64 = try Executor<Double>(graph: graph, batch: batch)
        let x32: [String: NDArray<Float>] = Self.input(graph, batch: batch)
        let x64 = x32.mapValues { $0.converted(to: Double.self) }
        let a = try f32.run(x32), b = try f64.run(x64)
        for o in graph.outputs {
            let ours = try #require(a.outputs[o.name]), ref = try #require(b.outputs[o.name])
            #expect(ours.shape == o.concreteShape(batch: batch))
            #expect(ours.values.allSatisfy { $0.isFinite })
            let m = mismatch(ours.values, ref.values, atol: 1e-4)
            #expect(m == nil, "\(name) \(o.name): \(m ?? "-")")
        }
    }

    @Test("the fixture generator's graphs equal the committed files and run in every mode", arguments: fixtureNames)
    func everyMode(_ name: String) throws {
        let graph = try Self.fixture(name)
        let exec = try Executor<Float>(graph: graph, batch: 2)
        let x: [String: NDArray<Float>] = Self.input(graph, batch: 2)
        for mode in ExecutionMode.allCases {
            let r = try exec.run(x, mode: mode, seed: 3)
            for (_, v) in r.outputs { #expect(v.values.allSatisfy { $0.isFinite }, "\(name) \(mode)") }
            let bnCount = graph.nodes.filter { if case .batchNorm = $0.op { return true } else { return false } }.count
            let expected = mode == .train ? bnCount : 0
            #expect(r.batchNormStatistics.count == expected)
        }
        let built = try FixtureModels.all().first { $0.name == name }?.graph
        let fromCode = try Executor<Float>(graph: try #require(built), batch: 2).run(x)
        #expect(fromCode.outputs == (try exec.run(x)).outputs)
    }

    /// On the native kernels, whose fusions are bitwise exact (oneDNN's fold BatchNorm into the
    /// conv weights: OneDNNExecutorTests holds those to the Float64 reference instead).
    @Test(
        "shared buffers and fusion give the same results as one buffer per value; intermediates readable",
        arguments: fixtureNames)
    func bufferSharing(_ name: String) throws {
        try ConvBackend.$current.withValue(.native) { try bufferSharingNative(name) }
    }

    func bufferSharingNative(_ name: String) throws {
        let graph = try Self.fixture(name)
        let shared = try Executor<Float>(graph: graph, batch: 2)
        let retained = try Executor<Float>(graph: graph, batch: 2, retainAllValues: true)
        let x: [String: NDArray<Float>] = Self.input(graph, batch: 2)
        let a = try shared.run(x), b = try retained.run(x)
        #expect(a.outputs == b.outputs)
        // The shared plan fuses BatchNorm→ReLU and Add→ReLU; results stay bitwise equal in every mode.
        for mode in ExecutionMode.allCases {
            let fused = try shared.run(x, mode: mode, seed: 4), unfused = try retained.run(x, mode: mode, seed: 4)
            #expect(fused.outputs == unfused.outputs, "\(name) \(mode)")
            #expect(fused.batchNormStatistics == unfused.batchNormStatistics)
        }
        // Running twice on the same plan gives the same answer (buffers are fully rewritten).
        #expect((try shared.run(x)).outputs == a.outputs)
        #expect(shared.allocatedBytes < retained.allocatedBytes)
        for v in retained.valueNames {
            let value = try #require(retained.value(named: v), "\(v) not readable")
            #expect(value.shape == retained.shapes[v])
        }
        // Each intermediate equals what a graph cut at that value outputs.
        let node = graph.nodes[graph.nodes.count / 2]
        var cut = graph
        cut.outputs = [ValueInfo(name: node.output, shape: [])]
        cut.nodes = Array(graph.nodes.prefix { $0.name != node.name }) + [node]
        let cutOut = try Executor<Float>(graph: cut, batch: 2).run(x).outputs[node.output]
        _ = try retained.run(x)  // the loop above left the last (MC dropout) run's values
        #expect(cutOut == retained.value(named: node.output))
    }

    @Test func reparameterizedConvAndLinearMatchANaiveReference() throws {
        var r = TestRandom(11)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(r.uniform()) } }
        let v = values(6 * 2 * 3 * 3), g = values(6).map { $0 + 2 }, bias = values(6)
        let conv = Conv2d(
            weight: tensor("v", [6, 2, 3, 3], v), bias: tensor("b", [6], bias),
            window: Window2d(kernel: (3, 3), stride: (2, 1), dilation: (1, 2), padding: (1, 0, 2, 1)),
            groups: 2, reparameterization: .weightNorm(gain: tensor("g", [6], g)))
        var ws = conv
        ws.reparameterization = .weightStandardization(epsilon: 1e-5)
        let shape = [2, 4, 7, 9]
        let x: NDArray<Double> = r.array(shape)
        for c in [conv, ws] {
            let graph = try chain(shape, [("conv", .conv2d(c))])
            let ours = try Executor<Double>(graph: graph, batch: 2).run(x)
            // Reference: reparameterize per output channel, then a direct convolution.
            let w = naiveReparameterize(v.map(Double.init), out: 6, c.reparameterization!)
            let ref = naiveConv(x, weight: w, wshape: [6, 2, 3, 3], bias: bias.map(Double.init), c.window, groups: 2)
            #expect(ours.shape == ref.shape)
            let m = mismatch(ours.values, ref.values, atol: 1e-12)
            #expect(m == nil, "\(m ?? "")")
            let f32 = try Executor<Float>(graph: graph, batch: 2).run(x.converted(to: Float.self))
            #expect(mismatch(f32.values, ref.values, atol: 1e-5) == nil)
        }
        let lv = values(5 * 8), lg = values(5).map { $0 + 2 }
        for rp in [
            WeightReparameterization.weightNorm(gain: tensor("lg", [5], lg)), .weightStandardization(epsilon: 1e-5),
        ] {
            let graph = try chain(
                [3, 8], [("fc", .linear(Linear(weight: tensor("lv", [5, 8], lv), bias: nil, reparameterization: rp)))])
            let xin: NDArray<Double> = r.array([3, 8])
            let ours = try Executor<Double>(graph: graph).run(xin)
            let w = naiveReparameterize(lv.map(Double.init), out: 5, rp)
            var ref = [Double]()
            for n in 0..<3 {
                for o in 0..<5 { ref.append((0..<8).reduce(0.0) { $0 + xin.values[n * 8 + $1] * w[o * 8 + $1] }) }
            }
            #expect(mismatch(ours.values, ref, atol: 1e-12) == nil)
        }
    }

    @Test func typedErrors() throws {
        let graph = try Self.fixture("small_cnn")
        let exec = try Executor<Float>(graph: graph)
        #expect(throws: RuntimeError.missingInput("image")) { try exec.run([:]) }
        #expect(throws: RuntimeError.inputShape(name: "image", expected: [1, 3, 32, 32], found: [1, 3, 32, 31])) {
            try exec.run(["image": NDArray(shape: [1, 3, 32, 31])])
        }
        #expect(throws: RuntimeError.unknownInput("x")) {
            try exec.run(["image": NDArray(shape: [1, 3, 32, 32]), "x": NDArray(shape: [1])])
        }
        #expect(throws: RuntimeError.self) { try Executor<Float>(graph: graph, batch: 0) }
        var broken = graph
        broken.nodes.removeFirst()
        #expect(throws: RuntimeError.self) { try Executor<Float>(graph: broken) }
        // Train-mode BN needs two values per channel: a typed error, naming the node.
        let one = try Executor<Float>(
            graph: try chain(
                [1, 2],
                [
                    (
                        "bn",
                        .batchNorm(
                            BatchNorm(
                                scale: nil, bias: nil, runningMean: tensor("m", [2], [0, 0]),
                                runningVariance: tensor("v", [2], [1, 1])))
                    )
                ]))
        #expect(throws: RuntimeError.self) { try one.run(NDArray(shape: [1, 2]), mode: .train) }
        do { _ = try one.run(NDArray(shape: [1, 2]), mode: .train) } catch {
            #expect(error.description.contains("'bn'"))
        }
    }
}

func naiveReparameterize(_ v: [Double], out: Int, _ r: WeightReparameterization) -> [Double] {
    let per = v.count / out
    var w = v
    for o in 0..<out {
        let row = Array(v[(o * per)..<((o + 1) * per)])
        switch r {
        case .weightNorm(let g):
            let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
            for i in 0..<per { w[o * per + i] = Double(g.values[o]) * row[i] / norm }
        case .weightStandardization(let eps):
            let mean = row.reduce(0, +) / Double(per)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(per)
            for i in 0..<per { w[o * per + i] = (row[i] - mean) / (variance + eps).squareRoot() }
        }
    }
    return w
}

/// Direct convolution in Float64 (no im2col), straight from the definition.
func naiveConv(_ x: NDArray<Double>, weight: [Double], wshape: [Int], bias: [Double], _ w: Window2d, groups: Int)
    -> NDArray<Double>
{
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oc, icg, kh, kw) = (wshape[0], wshape[1], wshape[2], wshape[3])
    let oh = (h + w.padTop + w.padBottom - w.dilationH * (kh - 1) - 1) / w.strideH + 1
    let ow = (wd + w.padLeft + w.padRight - w.dilationW * (kw - 1) - 1) / w.strideW + 1
    var out = [Double](repeating: 0, count: n * oc * oh * ow)
    let ocg = oc / groups
    for b in 0..<n {
        for o in 0..<oc {
            for y in 0..<oh {
                for xx in 0..<ow {
                    var s = bias[o]
                    let g = o / ocg
                    for i in 0..<icg {
                        for ki in 0..<kh {
                            for kj in 0..<kw {
                                let iy = y * w.strideH - w.padTop + ki * w.dilationH,
                                    ix = xx * w.strideW - w.padLeft + kj * w.dilationW
                                if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
                                s +=
                                    x.values[((b * c + g * icg + i) * h + iy) * wd + ix]
                                    * weight[((o * icg + i) * kh + ki) * kw + kj]
                            }
                        }
                    }
                    out[((b * oc + o) * oh + y) * ow + xx] = s
                }
            }
        }
    }
    _ = c
    return NDArray(shape: [n, oc, oh, ow], values: out)
}
