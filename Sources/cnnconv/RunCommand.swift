// `cnnconv run`: run a model on an .npy input (or a seeded random one) in eval, train or MC
// dropout mode, in Float32 or Float64; write outputs as .npy, print statistics and latency.
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNKernels
import CNNRuntime
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on an input and print output statistics (and latency with --repeat).",
        discussion: """
            Inputs and outputs are NumPy .npy files (float32 or float64, C order, little-endian).
            Without --input, the model runs on a seeded standard-normal input of its declared shape
            (batch 1 where the batch is symbolic, or --batch). Any number of samples runs on a graph
            with a fixed batch: they are fed that many at a time.
            """
    )

    @Argument(
        help: "A model file (.cnnm, or .onnx imported on the fly).", completion: .file(extensions: ["cnnm", "onnx"]))
    var model: String

    @Option(parsing: .singleValue, help: "Input .npy, one per graph input in order, or NAME=FILE (repeat the option).")
    var input: [String] = []

    @Option(
        parsing: .singleValue,
        help: "Write an output .npy, one per graph output in order (repeat the option). With --mc-dropout: the mean.")
    var output: [String] = []

    @Option(help: "Write the generated random input(s) as .npy (one graph input only).")
    var saveInput: String?

    @Option(help: "eval: running BN statistics, dropout's inference rule; train: batch statistics, dropout sampled.")
    var mode: Mode = .eval

    /// `--mode` (MC dropout has its own option).
    enum Mode: String, CaseIterable, ExpressibleByArgument { case eval, train }

    @Option(
        name: .customLong("mc-dropout"),
        help: "Monte Carlo dropout: N stochastic passes; prints mean, spread and predictive entropy.")
    var mcDropout: Int?

    @Option(help: "Seed of the random input and of dropout masks.")
    var seed: UInt64 = 0

    @Option(help: "Kernel threads (default: all cores).")
    var threads: Int?

    @Option(help: "Time N runs after the first and report the minimum and median latency.")
    var `repeat`: Int?

    @Option(
        help: "Samples of the random input (default: the graph's fixed batch, or 1); fed in runs the graph accepts.")
    var batch: Int?

    @Flag(help: "Run in Float64 (the reference precision) instead of Float32.")
    var f64 = false

    @Flag(help: "With --repeat: also report time per op kind.")
    var profile = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var memory: MemoryLimitOption

    @OptionGroup var inputShape: InputShapeOption

    @Option(
        help:
            "With --mc-dropout: class labels (.npy of integers) to score MC dropout and the mean net (accuracy, NLL, ECE, rejection curve)."
    )
    var labels: String?

    @Option(help: "With --mc-dropout: write the per-sample uncertainty to FILE.npz, or to a folder of .npy files.")
    var uncertaintyOut: String?

    @Option(help: "With --mc-dropout --labels: write an SVG of the rejection curve and the reliability diagram.")
    var plot: String?

    @Flag(
        inversion: .prefixedNo,
        help: "With --mc-dropout: treat [N, K] outputs as logits and take the softmax of each pass (default: detected)."
    )
    var probabilities: Bool?

    func validate() throws {
        if let mcDropout, mcDropout < 1 { throw ValidationError("--mc-dropout must be at least 1") }
        if mcDropout != nil && mode == .train {
            throw ValidationError(
                "--mc-dropout runs BatchNorm on running statistics; it cannot be combined with --mode train")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let r = `repeat`, r < 1 { throw ValidationError("--repeat must be at least 1") }
        if let batch, batch < 1 || batch > MemoryLimitOption.maxBatch {
            throw ValidationError("--batch must be from 1 to \(MemoryLimitOption.maxBatch)")
        }
        if let mcDropout, mcDropout > MemoryLimitOption.maxSamples {
            throw ValidationError("--mc-dropout must be at most \(MemoryLimitOption.maxSamples)")
        }
        if saveInput != nil && !input.isEmpty {
            throw ValidationError("--save-input writes the generated input; it cannot be combined with --input")
        }
        try validateUncertainty()
    }

    func run() throws {
        try memory.apply()
        let inputFiles = [model] + input.map { $0.split(separator: "=", maxSplits: 1).last.map(String.init) ?? $0 }
        for path in output + [saveInput].compactMap({ $0 }) { try checkOutput(path, notReplacing: inputFiles) }
        let graph = try loadModel(model, inputShapes: inputShape)
        let report = f64 ? try execute(graph, Double.self) : try execute(graph, Float.self)
        if json { print(try Format.json(report)) } else { print(RunRenderer.render(report), terminator: "") }
    }

    func execute<S: KernelScalar>(_ graph: Graph, _: S.Type) throws -> RunReport {
        // Inputs: from files (samples on axis 0), or seeded random (--batch samples, default the
        // graph's fixed batch or 1). Either is fed in runs the graph's batch accepts.
        var inputs: [String: NDArray<S>] = [:]
        var source = "random (standard normal, seed \(seed))"
        if !input.isEmpty {
            inputs = try readInputs(input, option: "--input", for: graph, as: S.self)
            source = input.joined(separator: ", ")
        } else {
            let fixed: Int?
            do { fixed = try SampleBatching.fixedBatch(of: graph) } catch { throw CLIFailure("\(model): \(error)") }
            // The samples' sizes are checked (and bounded) before any input is generated.
            try MemoryLimitOption.checkSamples(graph, path: model, samples: batch ?? fixed ?? 1, option: "--batch")
            inputs = SampleBatching.randomInputs(for: graph, samples: batch ?? fixed ?? 1, seed: seed)
            if let saveInput {
                guard graph.inputs.count == 1, let x = inputs[graph.inputs[0].name] else {
                    throw CLIFailure(
                        "--save-input needs a model with one input; this one has \(graph.inputs.count)",
                        exitCode: .usage)
                }
                do { try NPY.write(NPYArray(x), to: saveInput) } catch { throw CLIFailure(error) }
            }
        }
        let samples = inputs.values.first?.shape.first ?? 1
        for (name, x) in inputs where x.shape.first != samples {
            throw CLIFailure(
                "input '\(name)' has \(x.shape.first ?? 0) samples on axis 0, another input \(samples)",
                exitCode: .usage)
        }
        let batching: SampleBatching
        let executor: Executor<S>
        do {
            batching = try SampleBatching(graph: graph, samples: samples, preferredBatch: samples)
            executor = try Executor<S>(
                graph: graph, batch: batching.runBatch, threads: threads ?? KernelThreads.defaultCount)
        } catch { throw CLIFailure("\(model): \(error)") }
        let runBatch = batching.runBatch
        let runMode: ExecutionMode = mode == .train ? .train : .eval
        var report = RunReport(
            model: model, mode: mcDropout == nil ? mode.rawValue : "mc-dropout", precision: f64 ? "f64" : "f32",
            threads: executor.threads, batch: runBatch, seed: seed, input: source)
        if batching.runs > 1 || batching.runBatch != samples {
            report.feeding =
                "\(samples) sample\(samples == 1 ? "" : "s") fed \(runBatch) at a time in \(batching.runs) run\(batching.runs == 1 ? "" : "s")"
                + (batching.fixedBatch ? " (the graph fixes its batch at \(runBatch))" : "")
        }
        let result: [String: NDArray<S>]
        do { result = try executor.run(samples: inputs, batching: batching, mode: runMode, seed: seed) } catch {
            throw CLIFailure(error)
        }
        var written: [String: NDArray<Double>] = [:]
        for o in graph.outputs {
            guard let y = result[o.name] else { continue }
            report.outputs.append(
                OutputStatistics(name: o.name, y.converted(to: Double.self), softmax: Self.isSoftmax(graph, o.name)))
            written[o.name] = y.converted(to: Double.self)
        }
        report.batchNormUpdates =
            runMode == .train
            ? graph.nodes.filter { if case .batchNorm = $0.op { return true } else { return false } }.count : 0

        if let passes = mcDropout {
            let mc: MonteCarloResult
            let logits = logitOutputs(graph, shapes: executor.shapes)
            do {
                mc = try executor.monteCarloDropout(
                    samples: inputs, batching: batching, passes: passes, seed: seed, logits: logits)
            } catch { throw CLIFailure(error) }
            let uncertainty = try uncertaintyReports(
                graph, mc, logits: logits, eval: result.mapValues { $0.converted(to: Double.self) })
            report.mcDropout = MCReport(
                samples: passes,
                outputs: graph.outputs.compactMap { o in
                    guard let r = mc.outputs[o.name] else { return nil }
                    written[o.name] = r.mean
                    let s = r.standardDeviation.values
                    return MCReport.Output(
                        name: o.name, meanStd: s.reduce(0, +) / Double(max(1, s.count)), maxStd: s.max() ?? 0,
                        predictiveEntropy: r.predictiveEntropy?.values, mutualInformation: r.mutualInformation?.values,
                        top1: OutputStatistics.top1(r.mean), uncertainty: uncertainty[o.name])
                })
        }

        for (path, o) in zip(output, graph.outputs) {
            guard let y = written[o.name] else { continue }
            let array = f64 ? NPYArray(y) : NPYArray(y.converted(to: Float.self))
            do { try NPY.write(array, to: path) } catch { throw CLIFailure(error) }
        }
        if output.count > graph.outputs.count {
            throw CLIFailure(
                "\(output.count) --output files for \(graph.outputs.count) graph output(s)", exitCode: .usage)
        }

        if let repeats = `repeat` {
            executor.profiling = profile
            var times: [Double] = []
            var kinds: [String: Double] = [:]
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                do { _ = try executor.run(batching.slice(inputs, run: 0), mode: runMode, seed: seed) } catch {
                    throw CLIFailure(error)
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                if profile {
                    for (i, node) in graph.nodes.enumerated() {
                        kinds[node.op.kindName, default: 0] += executor.lastRunNodeSeconds[i] * 1000 / Double(repeats)
                    }
                }
            }
            times.sort()
            report.latencyMs = Latency(
                min: times[0],
                median: times.count % 2 == 1
                    ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2, runs: repeats)
            if profile { report.perOpKindMs = kinds }
        }
        return report
    }

    static func isSoftmax(_ graph: Graph, _ value: String) -> Bool {
        guard let p = graph.producerIndex(of: value), case .softmax = graph.nodes[p].op else { return false }
        return true
    }
}

struct Latency: Encodable { var min: Double; var median: Double; var runs: Int }

struct OutputStatistics: Encodable {
    var name: String
    var shape: [Int]
    var min: Double, max: Double, mean: Double, std: Double
    var nonFinite: Int
    /// Per sample (axis 0) of a 2-D output: index and value of the largest entry.
    var top1: [Top1]?
    var softmax: Bool

    struct Top1: Encodable { var index: Int; var value: Double }

    init(name: String, _ y: NDArray<Double>, softmax: Bool) {
        self.name = name
        shape = y.shape
        let finite = y.values.filter { $0.isFinite }
        nonFinite = y.count - finite.count
        min = finite.min() ?? .nan
        max = finite.max() ?? .nan
        mean = finite.reduce(0, +) / Double(Swift.max(1, finite.count))
        let m = mean
        std = (finite.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(Swift.max(1, finite.count))).squareRoot()
        top1 = Self.top1(y)
        self.softmax = softmax
    }

    static func top1(_ y: NDArray<Double>) -> [Top1]? {
        guard y.shape.count == 2, y.shape[1] > 1 else { return nil }
        let k = y.shape[1]
        return (0..<y.shape[0]).map { n in
            let row = y.values[(n * k)..<((n + 1) * k)]
            let i = row.indices.max { row[$0] < row[$1] }!
            return Top1(index: i - n * k, value: row[i])
        }
    }
}

struct MCReport: Encodable {
    var samples: Int
    var outputs: [Output]
    struct Output: Encodable {
        var name: String
        var meanStd: Double
        var maxStd: Double
        var predictiveEntropy: [Double]?
        var mutualInformation: [Double]?
        var top1: [OutputStatistics.Top1]?
        var uncertainty: UncertaintyReport?
    }
}

struct RunReport: Encodable {
    var model: String
    var mode: String
    var precision: String
    var threads: Int
    var batch: Int
    var seed: UInt64
    var input: String
    /// How the samples were fed when not in one run of their own size.
    var feeding: String?
    var outputs: [OutputStatistics] = []
    var batchNormUpdates = 0
    var mcDropout: MCReport?
    var latencyMs: Latency?
    var perOpKindMs: [String: Double]?

}

enum RunRenderer {
    static func num(_ v: Double) -> String { String(format: "%.6g", v) }

    static func render(_ r: RunReport) -> String {
        var out = ""
        // Names and paths are escaped (displaySafe); only our colour codes reach the terminal.
        func line(_ s: String = "", _ styledSuffix: String = "") { out += displaySafe(s) + styledSuffix + "\n" }
        out +=
            Terminal.bold(
                displaySafe(
                    "\(r.model) — \(r.mode), \(r.precision), batch \(r.batch), \(r.threads) thread\(r.threads == 1 ? "" : "s")"
                )) + "\n"
        line("input: \(r.input)")
        if let f = r.feeding { line("fed: \(f)") }
        for o in r.outputs {
            line(
                "output \(o.name) [\(formatShape(o.shape))]\(o.softmax ? " (softmax)" : ""): min \(num(o.min)) · max \(num(o.max)) · mean \(num(o.mean)) · std \(num(o.std))",
                o.nonFinite > 0 ? Terminal.red(" · \(o.nonFinite) non-finite") : "")
            if let top = o.top1 {
                for (n, t) in top.prefix(8).enumerated() {
                    line("  sample \(n): top-1 class \(t.index) (\(num(t.value)))")
                }
                if top.count > 8 { line("  … \(top.count - 8) more samples") }
            }
        }
        if r.mode == "train" {
            line("train mode: \(r.batchNormUpdates) BatchNorm layer(s) normalized with batch statistics")
        }
        if let mc = r.mcDropout {
            line("MC dropout, \(mc.samples) passes (seed \(r.seed)):")
            for o in mc.outputs {
                line("  \(o.name): mean std \(num(o.meanStd)) · max std \(num(o.maxStd))")
                if let u = o.uncertainty { out += u.render(); continue }
                if let h = o.predictiveEntropy {
                    for (n, v) in h.prefix(8).enumerated() {
                        let top = o.top1.map { " · top-1 class \($0[n].index) (\(num($0[n].value)))" } ?? ""
                        line(
                            "    sample \(n): predictive entropy \(num(v)) nats · mutual information \(num(o.mutualInformation?[n] ?? 0))\(top)"
                        )
                    }
                }
            }
        }
        if let l = r.latencyMs {
            line(
                "latency over \(l.runs) runs: min \(String(format: "%.3f", l.min)) ms · median \(String(format: "%.3f", l.median)) ms"
            )
        }
        if let kinds = r.perOpKindMs {
            let total = kinds.values.reduce(0, +)
            for (k, v) in kinds.sorted(by: { $0.value > $1.value }) {
                line(
                    "  \(k.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", v)) ms  \(String(format: "%5.1f", 100 * v / max(total, 1e-12)))%"
                )
            }
        }
        return out
    }
}
