// cnnconv-bench: builds ResNet-18/50 with random weights, exports it to ONNX (so onnxruntime
// runs the same model), and times the CNNRuntime executor on it. Prints one JSON object;
// Benchmarks/bench.py runs it and onnxruntime side by side.
//
//   cnnconv-bench codec|mc MODEL.cnnm …   (IOBench.swift: Benchmarks/io_bench.sh's rows)
//   cnnconv-bench MODEL [--variant bn|folded] [--threads T] [--repeat N] [--batch B] [--onnx PATH]
//                 [--save-io DIR] [--layers] [--f64] [--profile-runs R]
//   cnnconv-bench --model-file MODEL.onnx [--threads T] [--repeat N] [--batch B] [--save-io DIR] …
//
// --save-io writes the input and our output as .npy (to check onnxruntime computes the same);
// --layers prints each conv's time and GFLOP/s on stderr.
//
// --model-file imports an ONNX model (e.g. scripts/make_zoo_models.py's torchvision-layout
// ResNet-18/50 and MobileNetV2) instead of building one; onnxruntime then runs that same file.
//
// MODEL: resnet18 | resnet50. `bn` keeps Conv→BatchNorm→ReLU as trained; `folded` is the same
// architecture with the BatchNorms already folded into conv biases (what `cnnconv fold` yields).
import CNNGraph
import CNNKernels
import CNNONNX
import CNNRuntime
import Foundation

struct Options {
    var model = "resnet18", variant = "bn", threads = KernelThreads.defaultCount, repeats = 20, batch = 1
    var onnx: String? = nil, f64 = false, layers = false, profileRuns = 3
    var saveIO: String? = nil, modelFile: String? = nil
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func next(_ flag: String) -> String {
        guard let v = args.popFirst() else {
            FileHandle.standardError.write(Data("missing value for \(flag)\n".utf8)); exit(2)
        }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--variant": o.variant = next(a)
        case "--threads": o.threads = Int(next(a)) ?? 1
        case "--repeat": o.repeats = Int(next(a)) ?? 20
        case "--batch": o.batch = Int(next(a)) ?? 1
        case "--onnx": o.onnx = next(a)
        case "--f64": o.f64 = true
        case "--layers": o.layers = true
        case "--save-io": o.saveIO = next(a)
        case "--model-file": o.modelFile = next(a)
        case "--profile-runs": o.profileRuns = max(1, Int(next(a)) ?? 3)
        default: o.model = a
        }
    }
    return o
}

/// Deterministic parameters (SplitMix-style) so runs are comparable.
struct Params {
    var rng = Xoshiro256StarStar(seed: 20_261_125)
    mutating func gaussian(_ std: Double) -> Float {
        let u1 = rng.nextUnit()
        return Float(std * boxMuller(u1, rng.nextUnit()).0)
    }
    mutating func tensor(_ name: String, _ shape: [Int], _ draw: (inout Params) -> Float) -> Tensor {
        var v = [Float](); v.reserveCapacity(shape.reduce(1, *))
        for _ in 0..<shape.reduce(1, *) { v.append(draw(&self)) }
        return Tensor(name: name, shape: shape, values: v)
    }
}

func resnet(depth: Int, folded: Bool) throws -> Graph {
    var p = Params()
    var b = GraphBuilder(name: "resnet\(depth)\(folded ? "_folded" : "")")
    var x = b.input("image", [.symbol("N"), .fixed(3), .fixed(224), .fixed(224)])
    /// `gamma`: the BN scale's centre; the last BN of each residual branch gets a small one (as
    /// zero-init-residual training leaves it), which keeps activations O(1) through 50 layers.
    func convBN(_ name: String, _ x: String, _ cin: Int, _ cout: Int, k: Int, s: Int, relu: Bool, gamma: Float = 1)
        -> String
    {
        let std = (2.0 / Double(cin * k * k)).squareRoot()
        let w = p.tensor("\(name).weight", [cout, cin, k, k]) { $0.gaussian(std) }
        var y: String
        if folded {
            let bias = p.tensor("\(name).bias", [cout]) { $0.gaussian(0.05) }
            let scaled = Tensor(name: w.name, shape: w.shape, values: w.array.map { $0 * gamma })
            y = b.add(name, .conv2d(Conv2d(weight: scaled, bias: bias, window: Window2d(k: k, s: s, p: k / 2))), x)
        } else {
            y = b.add(name, .conv2d(Conv2d(weight: w, bias: nil, window: Window2d(k: k, s: s, p: k / 2))), x)
            let g = p.tensor("\(name).bn.weight", [cout]) { gamma * (1 + $0.gaussian(0.1)) }
            let be = p.tensor("\(name).bn.bias", [cout]) { $0.gaussian(0.05) }
            let m = p.tensor("\(name).bn.running_mean", [cout]) { $0.gaussian(0.1) }
            let v = p.tensor("\(name).bn.running_var", [cout]) { 0.5 + abs($0.gaussian(0.5)) }
            y = b.add("\(name).bn", .batchNorm(BatchNorm(scale: g, bias: be, runningMean: m, runningVariance: v)), y)
        }
        return relu ? b.add("\(name).relu", .activation(.relu), y) : y
    }
    x = convBN("stem", x, 3, 64, k: 7, s: 2, relu: true)
    x = b.add("maxpool", .pool2d(Pool2d(kind: .max, window: Window2d(k: 3, s: 2, p: 1))), x)
    let bottleneck = depth >= 50
    let blocks = depth == 18 ? [2, 2, 2, 2] : depth == 34 ? [3, 4, 6, 3] : [3, 4, 6, 3]
    var cin = 64
    for (stage, count) in blocks.enumerated() {
        let width = 64 << stage
        let cout = bottleneck ? width * 4 : width
        for i in 0..<count {
            let s = (i == 0 && stage > 0) ? 2 : 1
            let name = "layer\(stage + 1).\(i)"
            var y: String
            if bottleneck {
                y = convBN("\(name).conv1", x, cin, width, k: 1, s: 1, relu: true)
                y = convBN("\(name).conv2", y, width, width, k: 3, s: s, relu: true)
                y = convBN("\(name).conv3", y, width, cout, k: 1, s: 1, relu: false, gamma: 0.2)
            } else {
                y = convBN("\(name).conv1", x, cin, width, k: 3, s: s, relu: true)
                y = convBN("\(name).conv2", y, width, cout, k: 3, s: 1, relu: false, gamma: 0.2)
            }
            let shortcut =
                (s != 1 || cin != cout) ? convBN("\(name).downsample", x, cin, cout, k: 1, s: s, relu: false) : x
            let sum = b.add("\(name).add", .add, y, shortcut)
            x = b.add("\(name).relu", .activation(.relu), sum)
            cin = cout
        }
    }
    x = b.add("avgpool", .globalPool(.average), x)
    x = b.add("flatten", .flatten(axis: 1), x)
    let std = (1.0 / Double(cin)).squareRoot()
    let fc = Linear(
        weight: p.tensor("fc.weight", [1000, cin]) { $0.gaussian(std) },
        bias: p.tensor("fc.bias", [1000]) { $0.gaussian(0.01) })
    x = b.add("fc", .linear(fc), x)
    b.output(x)
    return try b.build()
}

func bench<S: KernelScalar>(_ graph: Graph, _ o: Options, _: S.Type) throws -> [String: Any] {
    let exec = try Executor<S>(graph: graph, batch: o.batch, threads: o.threads)
    let shape = graph.inputs[0].concreteShape(batch: o.batch)
    var rng = Xoshiro256StarStar(seed: 1)
    let input = NDArray<S>(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in S(rng.nextUnit() * 2 - 1) })
    let first = try exec.run(input)  // warm-up; its output is what onnxruntime is checked against
    if let dir = o.saveIO {
        try NPY.write(NPYArray(input), to: dir + "/input.npy")
        try NPY.write(NPYArray(first), to: dir + "/output.npy")
    }
    var times: [Double] = []
    let cpuStart = processCPUSeconds()
    for _ in 0..<o.repeats {
        let t0 = Date()
        _ = try exec.run(input)
        times.append(Date().timeIntervalSince(t0) * 1000)
    }
    let cpuPerRun = (processCPUSeconds() - cpuStart) * 1000 / Double(max(1, o.repeats))
    times.sort()
    // One profiled run: time per op kind and the convolutions' throughput.
    exec.profiling = true
    var kinds: [String: Double] = [:]
    var convSeconds = 0.0, convFlops = 0
    let profileRuns = o.profileRuns
    for _ in 0..<profileRuns {
        _ = try exec.run(input)
        for (i, node) in graph.nodes.enumerated() {
            kinds[node.op.kindName, default: 0] += exec.lastRunNodeSeconds[i] * 1000 / Double(profileRuns)
            if case .conv2d = node.op { convSeconds += exec.lastRunNodeSeconds[i]; convFlops += exec.nodeFlops[i] }
        }
    }
    if o.layers {
        for (i, node) in graph.nodes.enumerated() where exec.nodeFlops[i] > 0 {
            let ms = exec.lastRunNodeSeconds[i] * 1000
            let line = String(
                format: "%-28@ %-14@ %8.3f ms %7.1f GFLOP/s  %@\n", node.name as NSString, node.op.kindName as NSString,
                ms,
                Double(exec.nodeFlops[i]) / (ms / 1000) / 1e9, "\(exec.shapes[node.output]!)" as NSString)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
    let totalFlops = exec.nodeFlops.reduce(0, +)
    return [
        "model": graph.name, "threads": o.threads, "batch": o.batch, "precision": S.self == Float.self ? "f32" : "f64",
        "latency_ms": ["min": times.first!, "median": times[times.count / 2]],
        "cpu_ms_per_run": cpuPerRun,
        "per_op_kind_ms": kinds, "gflop": Double(totalFlops) / 1e9,
        "conv_gflops_per_s": Double(convFlops) / convSeconds / 1e9,
        "allocated_mb": Double(exec.allocatedBytes) / 1e6,
    ]
}

/// User + system CPU seconds of this process (all threads): on a loaded machine, the work done
/// per run is steadier than its wall time.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

// `codec` and `mc` are the I/O modes (IOBench.swift); anything else is the executor benchmark.
if try IOBench.run(Array(CommandLine.arguments.dropFirst())) { exit(0) }
let o = parse()
do {
    let graph: Graph
    if let file = o.modelFile {
        graph = try ONNXImporter.importModel(path: file).0
    } else {
        let depth = o.model == "resnet50" ? 50 : o.model == "resnet34" ? 34 : 18
        graph = try resnet(depth: depth, folded: o.variant == "folded")
    }
    if let path = o.onnx { try ONNXExporter.write(graph, to: path) }
    let report = o.f64 ? try bench(graph, o, Double.self) : try bench(graph, o, Float.self)
    let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("cnnconv-bench: \(error)\n".utf8))
    exit(3)
}
