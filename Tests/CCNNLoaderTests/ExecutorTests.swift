// The C executor against references, |c − ref| ≤ 1e-5·(1 + |ref|): a naive Float64 reference
// written here (loops straight from the op definitions in cnnmodel.proto and the PyTorch/ONNX
// conventions) on small folded models; the Swift executor on every repository fixture, folded
// and unfolded; and onnxruntime's outputs (and the Swift executor) on every fixtures/onnx case,
// imported to the format.
import CCNNLoader
import CNNFixtures
import CNNFormat
import CNNGraph
import CNNONNX
import CNNPasses
import CNNRuntime
import CNNTestSupport
import Foundation
import XCTest

/// A dense NCHW (or any rank) array of doubles.
struct RefArray {
    var shape: [Int]
    var data: [Double]
    var count: Int { data.count }
}

/// Runs `graph` in Float64 with plain loops. Only the ops of a folded model.
enum Reference {
    static func run(_ graph: Graph, inputs: [String: RefArray]) -> [RefArray] {
        var values = inputs
        for node in graph.nodes {
            let xs = node.inputs.map { values[$0]! }
            values[node.outputs[0]] = apply(node.op, xs)
        }
        return graph.outputs.map { values[$0.name]! }
    }

    static func d(_ t: Tensor?) -> [Double]? { t.map { $0.array.map(Double.init) } }

    static func apply(_ op: Op, _ xs: [RefArray]) -> RefArray {
        let x = xs[0]
        switch op {
        case .conv2d(let c):
            return conv(
                x, weight: d(c.weight)!, wShape: c.weight.shape, bias: d(c.bias), window: c.window, groups: c.groups)
        case .linear(let l):
            let (o, i) = (l.weight.shape[0], l.weight.shape[1])
            let w = d(l.weight)!, b = d(l.bias)
            let rows = x.count / i
            var y = [Double](repeating: 0, count: rows * o)
            for r in 0..<rows {
                for j in 0..<o {
                    var s = b?[j] ?? 0
                    for k in 0..<i { s += x.data[r * i + k] * w[j * i + k] }
                    y[r * o + j] = s
                }
            }
            return RefArray(shape: Array(x.shape.dropLast()) + [o], data: y)
        case .activation(let a):
            return RefArray(
                shape: x.shape,
                data: x.data.map { v in
                    switch a {
                    case .relu: return max(v, 0)
                    case .clip(let lo, let hi): return min(max(v, Double(lo)), Double(hi))
                    case .leakyRelu(let alpha): return v < 0 ? Double(alpha) * v : v
                    case .sigmoid: return 1 / (1 + exp(-v))
                    case .tanh: return Foundation.tanh(v)
                    case .hardSigmoid(let alpha, let beta): return max(0, min(1, Double(alpha) * v + Double(beta)))
                    case .hardSwish: return v * min(max(v + 3, 0), 6) / 6
                    case .silu: return v / (1 + exp(-v))
                    }
                })
        case .identity:
            return x
        case .pool2d(let p):
            return pool(x, p)
        case .globalPool(let kind):
            let plane = x.shape.dropFirst(2).reduce(1, *)
            let planes = x.count / plane
            let y = (0..<planes).map { p -> Double in
                let slice = x.data[p * plane..<(p + 1) * plane]
                return kind == .max ? slice.max()! : slice.reduce(0, +) / Double(plane)
            }
            return RefArray(shape: Array(x.shape.prefix(2)) + Array(repeating: 1, count: x.shape.count - 2), data: y)
        case .flatten(let axis):
            let a = axis < 0 ? axis + x.shape.count : axis
            return RefArray(shape: [x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)], data: x.data)
        case .add:
            return RefArray(shape: x.shape, data: (0..<x.count).map { i in xs.reduce(0) { $0 + $1.data[i] } })
        case .mul:
            let s = xs[1]
            if s.shape == x.shape { return RefArray(shape: x.shape, data: zip(x.data, s.data).map(*)) }
            let plane = x.shape.dropFirst(2).reduce(1, *)
            return RefArray(shape: x.shape, data: (0..<x.count).map { x.data[$0] * s.data[$0 / plane] })
        case .concat(let axis):
            let a = axis < 0 ? axis + x.shape.count : axis
            let outer = x.shape[..<a].reduce(1, *)
            var shape = x.shape
            shape[a] = xs.reduce(0) { $0 + $1.shape[a] }
            var y: [Double] = []
            for o in 0..<outer {
                for part in xs {
                    let chunk = part.shape[a...].reduce(1, *)
                    y += part.data[o * chunk..<(o + 1) * chunk]
                }
            }
            return RefArray(shape: shape, data: y)
        case .softmax(let axis):
            let a = axis < 0 ? axis + x.shape.count : axis
            let len = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *), outer = x.shape[..<a].reduce(1, *)
            var y = x.data
            for o in 0..<outer {
                for i in 0..<inner {
                    let idx = (0..<len).map { o * len * inner + $0 * inner + i }
                    let m = idx.map { x.data[$0] }.max()!
                    let sum = idx.reduce(0) { $0 + exp(x.data[$1] - m) }
                    for j in idx { y[j] = exp(x.data[j] - m) / sum }
                }
            }
            return RefArray(shape: x.shape, data: y)
        case .affine(let af):
            let scale = d(af.scale)!, shift = d(af.shift)!
            let c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
            return RefArray(
                shape: x.shape,
                data: (0..<x.count).map { i in
                    let ch = (i / plane) % c
                    return scale[ch] * x.data[i] + shift[ch]
                })
        default:
            fatalError("the reference runs folded models only, not \(op)")
        }
    }

    static func conv(_ x: RefArray, weight w: [Double], wShape: [Int], bias: [Double]?, window: Window2d, groups: Int)
        -> RefArray
    {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (wShape[0], wShape[1], wShape[2], wShape[3])
        let oh = (h + window.padTop + window.padBottom - window.dilationH * (kh - 1) - 1) / window.strideH + 1
        let ow = (wd + window.padLeft + window.padRight - window.dilationW * (kw - 1) - 1) / window.strideW + 1
        let og = o / groups
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n {
            for oc in 0..<o {
                let g = oc / og
                for i in 0..<oh {
                    for j in 0..<ow {
                        var s = bias?[oc] ?? 0
                        for ic in 0..<cg {
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let yy = i * window.strideH - window.padTop + ki * window.dilationH
                                    let xx = j * window.strideW - window.padLeft + kj * window.dilationW
                                    guard yy >= 0, yy < h, xx >= 0, xx < wd else { continue }
                                    s +=
                                        x.data[((b * c + g * cg + ic) * h + yy) * wd + xx]
                                        * w[((oc * cg + ic) * kh + ki) * kw + kj]
                                }
                            }
                        }
                        y[((b * o + oc) * oh + i) * ow + j] = s
                    }
                }
            }
        }
        _ = c
        return RefArray(shape: [n, o, oh, ow], data: y)
    }

    /// Output length with PyTorch's ceil-mode rule (the last window starts inside the input or
    /// the leading padding).
    static func outLength(_ input: Int, _ k: Int, _ s: Int, _ d: Int, _ p0: Int, _ p1: Int, _ ceil: Bool) -> Int {
        let span = input + p0 + p1 - d * (k - 1) - 1
        var out = (ceil ? (span + s - 1) / s : span / s) + 1
        if ceil && (out - 1) * s >= input + p0 { out -= 1 }
        return out
    }

    static func pool(_ x: RefArray, _ p: Pool2d) -> RefArray {
        let w = p.window
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = outLength(h, w.kernelH, w.strideH, w.dilationH, w.padTop, w.padBottom, p.ceilMode)
        let ow = outLength(wd, w.kernelW, w.strideW, w.dilationW, w.padLeft, w.padRight, p.ceilMode)
        var y: [Double] = []
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var taps: [Double] = []
                    var padded = 0
                    for ki in 0..<w.kernelH {
                        for kj in 0..<w.kernelW {
                            let yy = i * w.strideH - w.padTop + ki * w.dilationH
                            let xx = j * w.strideW - w.padLeft + kj * w.dilationW
                            // count_include_pad counts taps in the input or its padding, not beyond (ceil mode).
                            if yy >= -w.padTop, yy < h + w.padBottom, xx >= -w.padLeft, xx < wd + w.padRight {
                                padded += 1
                            }
                            if yy >= 0, yy < h, xx >= 0, xx < wd { taps.append(x.data[(plane * h + yy) * wd + xx]) }
                        }
                    }
                    if p.kind == .max {
                        y.append(taps.max() ?? -.infinity)
                    } else {
                        let divisor = p.countIncludePad ? padded : taps.count
                        y.append(divisor == 0 ? 0 : taps.reduce(0, +) / Double(divisor))
                    }
                }
            }
        }
        return RefArray(shape: [n, c, oh, ow], data: y)
    }
}

/// Runs a model image in the C executor.
func runC(_ bytes: [UInt8], inputs: [RefArray]) throws -> [RefArray] {
    guard let model = CLoader.open(bytes: bytes).model else {
        throw NSError(
            domain: "cnnm", code: 1, userInfo: [NSLocalizedDescriptionKey: CLoader.open(bytes: bytes).message])
    }
    let buffers = inputs.map { input -> UnsafeMutableBufferPointer<Float> in
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(input.count, 1))
        for (i, v) in input.data.enumerated() { buffer[i] = Float(v) }
        return buffer
    }
    defer { for b in buffers { b.deallocate() } }
    var arrays = [cnnm_array](repeating: cnnm_array(), count: inputs.count)
    for i in 0..<inputs.count {
        arrays[i].data = buffers[i].baseAddress
        arrays[i].rank = inputs[i].shape.count
        withUnsafeMutableBytes(of: &arrays[i].dims) { raw in
            for (k, d) in inputs[i].shape.enumerated() {
                raw.storeBytes(of: UInt64(d), toByteOffset: 8 * k, as: UInt64.self)
            }
        }
    }
    var outputs = [cnnm_array](repeating: cnnm_array(), count: cnnm_output_count(model.pointer))
    var error = cnnm_error()
    let status = cnnm_run(model.pointer, arrays, arrays.count, &outputs, outputs.count, &error)
    guard status == CNNM_OK else {
        throw NSError(
            domain: "cnnm", code: Int(status.rawValue), userInfo: [NSLocalizedDescriptionKey: message(of: error)])
    }
    defer { for i in outputs.indices { cnnm_array_free(&outputs[i]) } }
    return outputs.map { o in
        let shape = withUnsafeBytes(of: o.dims) { raw in
            (0..<o.rank).map { Int(raw.load(fromByteOffset: 8 * $0, as: UInt64.self)) }
        }
        let count = Int(cnnm_array_count([o]))
        return RefArray(shape: shape, data: (0..<count).map { Double(o.data[$0]) })
    }
}

final class ExecutorTests: XCTestCase {
    var rng = TestRandom(11)

    func tensor(_ name: String, _ shape: [Int], storage: StorageFormat = .f32Raw) -> Tensor {
        Tensor(
            name: name, shape: shape, values: storage.roundTripped(rng.floats(shape.reduce(1, *), scale: 0.5)),
            storage: storage)
    }

    func check(_ graph: Graph, batch: Int = 2, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = try graph.serialized()
        var inputs: [String: RefArray] = [:]
        var ordered: [RefArray] = []
        for v in graph.inputs {
            let shape = v.concreteShape(batch: batch)
            let a = RefArray(shape: shape, data: rng.floats(shape.reduce(1, *), scale: 2).map(Double.init))
            inputs[v.name] = a
            ordered.append(a)
        }
        let expected = Reference.run(graph, inputs: inputs)
        let actual = try runC(bytes, inputs: ordered)
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (a, e) in zip(actual, expected) {
            XCTAssertEqual(a.shape, e.shape, file: file, line: line)
            guard a.shape == e.shape else { continue }
            var worst = 0.0
            for (u, v) in zip(a.data, e.data) { worst = max(worst, abs(u - v) / (1 + abs(v))) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(graph.name): worst scaled error \(worst)", file: file, line: line)
        }
    }

    func testConvolutionStrideDilationAsymmetricPadding() throws {
        var b = GraphBuilder(name: "conv")
        let x = b.input("x", [.symbol("N"), .fixed(3), .fixed(9), .fixed(8)])
        let c = b.add(
            "conv",
            .conv2d(
                Conv2d(
                    weight: tensor("w", [6, 3, 3, 3]), bias: tensor("b", [6]),
                    window: Window2d(kernel: (3, 3), stride: (2, 1), dilation: (1, 2), padding: (1, 2, 0, 1)))), x)
        let c2 = b.add(
            "conv5x1",
            .conv2d(
                Conv2d(
                    weight: tensor("w2", [4, 6, 5, 1], storage: StorageFormat(.float16, .shuffle)),
                    bias: tensor("b2", [4], storage: StorageFormat(.bfloat16, .deflate)),
                    window: Window2d(kernel: (5, 1), stride: (1, 3), padding: (2, 0, 2, 0)))), c)
        b.output(b.add("relu", .activation(.relu), c2))
        try check(try b.build())
    }

    func testGroupedAndDepthwiseConvolutions() throws {
        var b = GraphBuilder(name: "groups")
        let x = b.input("x", [.symbol("N"), .fixed(4), .fixed(7), .fixed(7)])
        let g = b.add(
            "grouped",
            .conv2d(
                Conv2d(
                    weight: tensor("gw", [6, 2, 3, 2]), bias: tensor("gb", [6]),
                    window: Window2d(kernel: (3, 2), padding: (1, 0, 1, 1)), groups: 2)), x)
        let d = b.add(
            "depthwise",
            .conv2d(
                Conv2d(
                    weight: tensor("dw", [6, 1, 3, 3]), bias: nil,
                    window: Window2d(k: 3, s: 2, p: 1), groups: 6)), g)
        b.output(
            b.add(
                "pointwise",
                .conv2d(Conv2d(weight: tensor("pw", [5, 6, 1, 1]), bias: tensor("pb", [5]), window: Window2d(k: 1))), d)
        )
        try check(try b.build())
    }

    func testPools() throws {
        for ceil in [false, true] {
            for include in [false, true] {
                var b = GraphBuilder(name: "pools-\(ceil)-\(include)")
                let x = b.input("x", [.symbol("N"), .fixed(3), .fixed(10), .fixed(9)])
                let m = b.add("max", .pool2d(Pool2d(kind: .max, window: Window2d(k: 3, s: 2, p: 1), ceilMode: ceil)), x)
                let a = b.add(
                    "avg",
                    .pool2d(
                        Pool2d(
                            kind: .average, window: Window2d(kernel: (3, 2), stride: (2, 2), padding: (1, 0, 2, 1)),
                            ceilMode: ceil, countIncludePad: include)), m)
                let md = b.add(
                    "maxd",
                    .pool2d(Pool2d(kind: .max, window: Window2d(kernel: (2, 2), stride: (1, 1), dilation: (2, 1)))), x)
                b.output(a)
                b.output(b.add("gmax", .globalPool(.max), md))
                b.output(b.add("gavg", .globalPool(.average), x))
                try check(try b.build())
            }
        }
    }

    func testLinearHeadSoftmaxAndActivations() throws {
        var b = GraphBuilder(name: "head")
        let x = b.input("x", [.symbol("N"), .fixed(5), .fixed(4), .fixed(4)])
        var v = b.add("gap", .globalPool(.average), x)
        v = b.add("flat", .flatten(axis: 1), v)
        v = b.add("fc1", .linear(Linear(weight: tensor("fc1.w", [12, 5]), bias: tensor("fc1.b", [12]))), v)
        let acts: [Activation] = [
            .clip(min: -0.3, max: 0.4), .leakyRelu(alpha: 0.1), .sigmoid, .tanh, .hardSigmoid(alpha: 0.2, beta: 0.5),
            .hardSwish, .silu, .relu,
        ]
        var branches: [String] = []
        for (i, a) in acts.enumerated() { branches.append(b.add("act\(i)", .activation(a), v)) }
        let sum = b.add("sum", .add, inputs: branches)
        let id = b.add("id", .identity, sum)
        v = b.add(
            "fc2",
            .linear(Linear(weight: tensor("fc2.w", [7, 12], storage: StorageFormat(.bfloat16, .raw)), bias: nil)), id)
        b.output(b.add("softmax", .softmax(axis: 1), v))
        try check(try b.build(), batch: 3)
    }

    func testAddConcatAffineMulBranches() throws {
        var b = GraphBuilder(name: "branches")
        let x = b.input("x", [.symbol("N"), .fixed(4), .fixed(6), .fixed(6)])
        let c1 = b.add(
            "c1",
            .conv2d(
                Conv2d(weight: tensor("c1.w", [4, 4, 3, 3]), bias: tensor("c1.b", [4]), window: Window2d(k: 3, p: 1))),
            x)
        let c2 = b.add(
            "c2", .conv2d(Conv2d(weight: tensor("c2.w", [4, 4, 1, 1]), bias: nil, window: Window2d(k: 1))), x)
        let sum = b.add("sum3", .add, x, c1, c2)
        let cat = b.add("cat", .concat(axis: 1), sum, c1)
        let aff = b.add("affine", .affine(Affine(scale: tensor("a.s", [8]), shift: tensor("a.t", [8]))), cat)
        let se = b.add("se.pool", .globalPool(.average), aff)
        let gate = b.add("se.gate", .activation(.sigmoid), se)
        let scaled = b.add("se.mul", .mul, aff, gate)
        let same = b.add("square", .mul, scaled, scaled)
        let cat2 = b.add("cat.h", .concat(axis: -1), same, aff)
        b.output(b.add("soft.c", .softmax(axis: 1), cat2))
        try check(try b.build())
    }

    func testA32x32ModelRunsInMilliseconds() throws {
        var b = GraphBuilder(name: "cifar-ish")
        let x = b.input("x", [.symbol("N"), .fixed(3), .fixed(32), .fixed(32)])
        var v = b.add(
            "c1",
            .conv2d(
                Conv2d(weight: tensor("c1.w", [16, 3, 3, 3]), bias: tensor("c1.b", [16]), window: Window2d(k: 3, p: 1))),
            x)
        v = b.add("r1", .activation(.relu), v)
        v = b.add("p1", .pool2d(Pool2d(kind: .max, window: Window2d(k: 2, s: 2))), v)
        v = b.add(
            "c2",
            .conv2d(
                Conv2d(
                    weight: tensor("c2.w", [32, 16, 3, 3]), bias: tensor("c2.b", [32]), window: Window2d(k: 3, p: 1))),
            v)
        v = b.add("r2", .activation(.relu), v)
        v = b.add("gap", .globalPool(.average), v)
        v = b.add("flat", .flatten(axis: 1), v)
        b.output(b.add("fc", .linear(Linear(weight: tensor("fc.w", [10, 32]), bias: tensor("fc.b", [10]))), v))
        let graph = try b.build()
        try check(graph, batch: 1)
        // Left for tools/ci-check.sh runs by hand (a folded model with no Swift needed to run it).
        try? graph.write(to: NSTemporaryDirectory() + "cnnm-cifar-ish.cnnm")
        let bytes = try graph.serialized()
        let input = RefArray(shape: [1, 3, 32, 32], data: [Double](repeating: 0.5, count: 3 * 32 * 32))
        let start = Date()
        _ = try runC(bytes, inputs: [input])
        let elapsed = Date().timeIntervalSince(start)
        // ≈ 2.8 M multiply-adds; debug-built C takes a few ms. Generous bound for loaded CI machines.
        XCTAssertLessThan(elapsed, 0.5, "took \(elapsed) s")
    }

    func testWrongInputShapeIsRefused() throws {
        var b = GraphBuilder(name: "shape")
        let x = b.input("x", [.symbol("N"), .fixed(3), .fixed(4), .fixed(4)])
        b.output(
            b.add("conv", .conv2d(Conv2d(weight: tensor("w", [2, 3, 3, 3]), bias: nil, window: Window2d(k: 3))), x))
        let bytes = try b.build().serialized()
        XCTAssertThrowsError(
            try runC(bytes, inputs: [RefArray(shape: [1, 2, 4, 4], data: [Double](repeating: 0, count: 32))])
        ) { error in
            XCTAssertEqual((error as NSError).code, Int(CNNM_ERR_INPUT_SHAPE.rawValue))
        }
        XCTAssertThrowsError(
            try runC(bytes, inputs: [RefArray(shape: [1, 3, 4], data: [Double](repeating: 0, count: 12))]))
        // A batch of 5 is fine.
        XCTAssertEqual(
            try runC(bytes, inputs: [RefArray(shape: [5, 3, 4, 4], data: [Double](repeating: 1, count: 240))])[0].shape,
            [5, 2, 2, 2])
    }

    /// Runs `graph` in the C executor (from its serialized file) and in the Swift executor on the
    /// same inputs — `given` by name, else seeded Gaussian ones — and returns the worst scaled
    /// difference; fails on a shape or count mismatch.
    @discardableResult
    func compareWithSwift(
        _ graph: Graph, batch: Int, given: [String: NDArray<Float>] = [:], label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [RefArray] {
        let bytes = try graph.serialized()
        var random = SeededRandom(seed: 17)
        var named: [String: NDArray<Float>] = [:]
        var ordered: [RefArray] = []
        for v in graph.inputs {
            let shape = v.concreteShape(batch: batch)
            let array =
                given[v.name] ?? NDArray(shape: shape, values: random.floats(shape.reduce(1, *)) { $0.gaussian() })
            named[v.name] = array
            ordered.append(RefArray(shape: array.shape, data: array.values.map(Double.init)))
        }
        let swift = try Executor<Float>(graph: graph, batch: batch).run(named).outputs
        let c = try runC(bytes, inputs: ordered)
        XCTAssertEqual(c.count, graph.outputs.count, label, file: file, line: line)
        for (out, info) in zip(c, graph.outputs) {
            guard let reference = swift[info.name] else {
                XCTFail("\(label): Swift gave no \(info.name)", file: file, line: line); continue
            }
            XCTAssertEqual(out.shape, reference.shape, "\(label) \(info.name)", file: file, line: line)
            guard out.shape == reference.shape else { continue }
            var worst = 0.0
            for (a, b) in zip(out.data, reference.values) {
                worst = max(worst, abs(a - Double(b)) / (1 + abs(Double(b))))
            }
            XCTAssertLessThanOrEqual(
                worst, 1e-5, "\(label) \(info.name): C vs Swift, worst scaled difference \(worst)", file: file,
                line: line)
        }
        return c
    }

    /// Every repository fixture (fixtures/*.cnnm, fixtures/digits/*.cnnm), as written and folded:
    /// every op the format defines runs in C (every_op.cnnm has them all) and equals the Swift
    /// executor.
    func testRepositoryFixturesFoldedAndUnfoldedMatchTheSwiftExecutor() throws {
        var paths: [String] = []
        for dir in [Repository.fixture(""), Repository.fixture("digits")] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            paths += names.filter { $0.hasSuffix(".cnnm") }.sorted().map { dir + "/" + $0 }
        }
        XCTAssertGreaterThanOrEqual(paths.count, 6, "fixtures missing")
        var ops = Set<String>()
        for path in paths {
            let name = URL(fileURLWithPath: path).lastPathComponent
            guard let graph = try? Graph(contentsOf: path), CLoader.open(path: path).model != nil else {
                XCTFail("\(name) does not load"); continue
            }
            ops.formUnion(graph.nodes.map { $0.op.kindName })
            try compareWithSwift(graph, batch: 2, label: name)
            let folded = try FoldPasses.fold(graph).graph
            try compareWithSwift(folded, batch: 3, label: name + " (folded)")
        }
        // The fixtures hold each op kind of the format at least once (every_op.cnnm's purpose).
        for kind in [
            "ConvTranspose2d", "BatchNorm", "Dropout", "LayerNorm", "GroupNorm", "InstanceNorm", "LRN", "Resize",
            "ChannelShuffle",
        ] {
            XCTAssertTrue(ops.contains(where: { $0.contains(kind) }), "no fixture has a \(kind) node: \(ops.sorted())")
        }
    }

    /// Resize enums from a newer schema: the Swift reader reads an unknown coordinate transform
    /// as half pixel and an unknown nearest rounding as round-prefer-floor; the C executor must
    /// compute the same from the same file.
    /// A resize enum value from a newer schema (or damage behind valid CRCs) is refused by both
    /// readers, naming the node and the field — never run as the default.
    func testUnknownResizeEnumsAreRefusedByBothReaders() throws {
        let original = readBytes(Repository.fixture("every_op.cnnm"))
        let file = try ModelFile(bytes: original)
        for field in ["coordinate_transform", "nearest_rounding"] {
            var header = file.header
            var changed = 0
            for i in header.nodes.indices where header.nodes[i].resize.scaleH > 0 {
                if field == "coordinate_transform" {
                    header.nodes[i].resize.coordinateTransform = .UNRECOGNIZED(9)
                } else {
                    header.nodes[i].resize.nearestRounding = .UNRECOGNIZED(7)
                }
                changed += 1
            }
            XCTAssertGreaterThan(changed, 0, "every_op.cnnm has no resize node")
            let bytes = HostileFiles.assemble(header: header, data: Array(original[Int(file.preamble.dataOffset)...]))
            XCTAssertThrowsError(try Graph(bytes: bytes)) {
                XCTAssertTrue("\($0)".contains("resize.\(field)"), "\($0)")
            }
            let c = CLoader.open(bytes: bytes)
            XCTAssertNil(c.model)
            XCTAssertTrue(c.message.contains("resize.\(field)"), c.message)
        }
    }

    /// The Resize options only the Swift executor runs (cubic, antialias, exclude_outside,
    /// half_pixel_symmetric, tf_crop_and_resize, rounded output sizes): the Swift reader reads
    /// each back exactly, the C loader refuses each naming the node and the option.
    func testSwiftOnlyResizeOptionsRoundTripAndAreRefusedByC() throws {
        let original = readBytes(Repository.fixture("every_op.cnnm"))
        let file = try ModelFile(bytes: original)
        let options: [(String, (inout Cnnconv_V1_Resize) -> Void)] = [
            (
                "cubic mode",
                {
                    $0.mode = .cubic; $0.cubicCoefficient = -0.5
                }
            ),
            (
                "antialiasing",
                {
                    $0.mode = .bilinear; $0.antialias = true
                }
            ),
            ("exclude_outside", { $0.excludeOutside = true }),
            ("half_pixel_symmetric", { $0.coordinateTransform = .halfPixelSymmetric }),
            (
                "tf_crop_and_resize",
                {
                    $0.coordinateTransform = .tfCropAndResize
                    $0.cropTop = 0.25; $0.cropLeft = 0.5; $0.cropBottom = 0.75; $0.cropRight = 1
                    $0.extrapolationValue = 10
                }
            ),
            ("rounded output sizes", { $0.roundOutputSize = true }),
        ]
        for (what, change) in options {
            var header = file.header
            var expected: [Cnnconv_V1_Resize] = []
            for i in header.nodes.indices where header.nodes[i].resize.scaleH > 0 {
                change(&header.nodes[i].resize)
                expected.append(header.nodes[i].resize)
            }
            XCTAssertFalse(expected.isEmpty, "every_op.cnnm has no resize node")
            let bytes = HostileFiles.assemble(header: header, data: Array(original[Int(file.preamble.dataOffset)...]))
            let graph = try Graph(bytes: bytes)
            let again = try ModelFile(bytes: try graph.serialized()).header.nodes.filter { $0.resize.scaleH > 0 }
            XCTAssertEqual(again.map(\.resize), expected, what)
            let c = CLoader.open(bytes: bytes)
            XCTAssertNil(c.model, what)
            XCTAssertTrue(c.message.contains("Resize with \(what)"), c.message)
        }
    }

    /// Every fixtures/onnx case imported to the format: the C executor equals onnxruntime's
    /// output (an outside oracle, same rule as the Swift executor's oracle tests), and the Swift
    /// executor, unfolded and folded.
    func testONNXOracleCasesMatchOnnxruntime() throws {
        let root = Repository.fixture("onnx")
        let cases = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
            .filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/model.onnx") }
        XCTAssertGreaterThanOrEqual(cases.count, 82, "fixtures/onnx missing")
        for name in cases {
            let dir = root + "/" + name
            let (graph, _) = try ONNXImporter.importModel(path: dir + "/model.onnx")
            var inputs: [String: NDArray<Float>] = [:]
            for v in graph.inputs { inputs[v.name] = try NPY.read(dir + "/input_\(v.name).npy").array(as: Float.self) }
            let batch = inputs.values.first?.shape.first ?? 1
            let c = try compareWithSwift(graph, batch: batch, given: inputs, label: name)
            for (out, info) in zip(c, graph.outputs) {
                let expected = try NPY.read(dir + "/output_\(info.name).npy").array(as: Float.self)
                XCTAssertEqual(out.shape, expected.shape, "\(name) \(info.name)")
                var worst = 0.0
                for (a, b) in zip(out.data, expected.values) {
                    worst = max(worst, abs(a - Double(b)) / (1 + abs(Double(b))))
                }
                XCTAssertLessThanOrEqual(
                    worst, 1e-5, "\(name) \(info.name): C vs onnxruntime, worst scaled difference \(worst)")
            }
            try compareWithSwift(
                try FoldPasses.fold(graph).graph, batch: batch, given: inputs, label: name + " (folded)")
        }
    }
}
