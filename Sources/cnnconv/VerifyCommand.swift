// `cnnconv verify`: run two models on the same inputs and report how far apart they are.
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNRuntime
import CNNVerify
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Run a reference and a candidate model (e.g. unfolded and folded) on the same inputs and compare their outputs.",
        discussion: """
            By default an output passes when the candidate is as close to the exact result (the \
            reference run in Float64) as the reference itself is in Float32 — within 4× its own \
            error, largest element and rms — or, for a candidate stored as f16/bf16, as the \
            reference with its weights rounded the same way. With --atol or --rtol: numpy.allclose, \
            |candidate − reference| ≤ atol + rtol·|reference| for every element. Exit 1 on a failure.
            """
    )

    @Argument(help: "The reference model (e.g. the unfolded one).")
    var reference: String

    @Argument(help: "The candidate model (e.g. the folded one).")
    var candidate: String

    @Option(
        parsing: .upToNextOption,
        help: "Input .npy files, one per graph input, batch on axis 0 (default: random inputs).")
    var inputs: [String] = []

    @Option(help: "Class labels as .npy (one per sample) to report top-1 accuracy of both models.")
    var labels: String?

    @Option(help: "Number of random input samples.")
    var samples = 8

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 0

    @Option(help: "Largest samples per run when the batch is symbolic (default 32); a fixed batch is fed as it is.")
    var batch: Int?

    @Option(
        name: .customLong("f64-samples"),
        help: "Samples that also run in Float64 and decide the verdict (default: all).")
    var f64Samples: Int?

    @Option(help: "Absolute tolerance: judge with numpy.allclose instead (rtol defaults to 1e-4).")
    var atol: Double?

    @Option(help: "Relative tolerance: judge with numpy.allclose instead (atol defaults to 1e-5).")
    var rtol: Double?

    @Flag(help: "Compare every value the two graphs share and name the first that diverges.")
    var perLayer = false

    @Option(help: "With --per-layer: write an SVG of the error per layer against the Float32 budget (log scale).")
    var plot: String?

    @Flag(help: "Skip the Float64 run of the reference (the error budget).")
    var noBudget = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var memory: MemoryLimitOption

    @OptionGroup var inputShape: InputShapeOption

    func validate() throws {
        guard samples >= 1, samples <= MemoryLimitOption.maxSamples else {
            throw ValidationError("--samples must be from 1 to \(MemoryLimitOption.maxSamples)")
        }
        if let batch, batch < 1 || batch > MemoryLimitOption.maxBatch {
            throw ValidationError("--batch must be from 1 to \(MemoryLimitOption.maxBatch)")
        }
        if let f64Samples, f64Samples < 1 { throw ValidationError("--f64-samples must be at least 1") }
        guard (atol ?? 0) >= 0, (rtol ?? 0) >= 0 else { throw ValidationError("tolerances must be ≥ 0") }
        if plot != nil && !perLayer { throw ValidationError("--plot draws the per-layer comparison: give --per-layer") }
        if noBudget && atol == nil && rtol == nil {
            throw ValidationError(
                "--no-budget skips the Float64 run the default verdict needs; give --atol/--rtol to judge without it")
        }
    }

    func run() throws {
        try memory.apply()
        let a = try loadModel(reference, inputShapes: inputShape)
        let b = try loadModel(candidate, inputShapes: inputShape)
        if inputs.isEmpty {
            try MemoryLimitOption.checkSamples(a, path: reference, samples: samples, option: "--samples")
        }
        var options = VerifyOptions()
        options.samples = samples
        options.seed = seed
        options.batch = batch
        options.rule = VerificationRule(atol: atol, rtol: rtol)
        options.float64Samples = f64Samples
        options.perLayer = perLayer
        options.errorBudget = !noBudget
        if !inputs.isEmpty {
            guard inputs.count == a.inputs.count else {
                throw CLIFailure(
                    "\(inputs.count) input file(s) for \(a.inputs.count) graph input(s) (\(a.inputs.map(\.name).joined(separator: ", ")))",
                    exitCode: .usage)
            }
            var given: [String: NDArray<Float>] = [:]
            for (file, input) in zip(inputs, a.inputs) {
                do { given[input.name] = try NPY.read(file).array(as: Float.self) } catch { throw CLIFailure(error) }
            }
            options.inputs = given
        }
        if let labels {
            do {
                let array = try NPY.read(labels).array(as: Double.self)
                options.labels = try Self.classIndices(array.values, file: labels, graph: a)
            } catch let failure as CLIFailure { throw failure } catch { throw CLIFailure(error) }
        }
        options.progress = Progress.reporter()
        let report: VerifyReport
        do { report = try Verifier.verify(reference: a, candidate: b, options: options) } catch {
            throw CLIFailure(error)
        }
        Progress.finish()
        if let plot {
            do { try SVGPlot.perLayer(report).write(to: plot) } catch { throw CLIFailure(error) }
        }
        if json {
            print(try Format.json(report))
        } else {
            print(VerifyRenderer.render(report), terminator: "")
        }
        if !report.passed { throw ExitStatus.verificationFailed.code }
    }

    /// Labels as class indices: each a whole number in 0..<classes (the first output's last
    /// dimension), refused (exit 3) naming the file and index otherwise.
    static func classIndices(_ values: [Double], file: String, graph: Graph) throws -> [Int] {
        let shapes = try? graph.inferShapes(batch: 1)
        let classes = graph.outputs.first.flatMap { shapes?[$0.name]?.last }
        return try values.enumerated().map { i, v in
            guard let n = Int(exactly: v), n >= 0, n < (classes ?? .max) else {
                throw CLIFailure(
                    "\(file): label \(i) is \(v), not a class index" + (classes.map { " in 0..<\($0)" } ?? ""))
            }
            return n
        }
    }
}

/// Progress on stderr for runs over a second, as one updating line, only when stderr is a
/// terminal (pipes and CI get none).
enum Progress {
    nonisolated(unsafe) static var started = Date()
    nonisolated(unsafe) static var printed = false

    static func reporter() -> @Sendable (String) -> Void {
        started = Date()
        printed = false
        return { line in
            guard Terminal.isTerminal(STDERR_FILENO), Date().timeIntervalSince(started) > 1 else { return }
            printed = true
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        }
    }

    static func finish() {
        if printed && Terminal.isTerminal(STDERR_FILENO) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

enum VerifyRenderer {
    static func bar(_ fraction: Double) -> String {
        let eighths = Int((fraction * 40).rounded())
        let full = eighths / 8
        let parts = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        let s = String(repeating: "█", count: full) + parts[eighths % 8]
        return s.isEmpty ? "▏" : s
    }

    /// "8 random inputs (seed 0)", with how they were fed when the batch is fixed.
    static func inputs(_ r: VerifyReport) -> String {
        var s = "\(r.samples) " + (r.inputSource == "random" ? "random inputs (seed \(r.seed))" : "inputs from files")
        if r.fixedBatch { s += ", fed \(r.runBatch) at a time (fixed batch)" }
        return s
    }

    static func render(_ r: VerifyReport) -> String {
        var out = ""
        func row(_ label: String, _ text: String) {
            out += "  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + text + "\n"
        }
        for o in r.outputs {
            let e = o.error
            out += "output \(displaySafe(o.name)) [\(formatShape(o.shape))], \(inputs(r))\n"
            if let v = o.verdict {
                row(
                    "vs f64",
                    "candidate \(sci(v.candidateMaxError)) max · \(sci(v.candidateRmsError)) rms   "
                        + "reference \(v.budgetSource) \(sci(v.budgetMaxError)) max · \(sci(v.budgetRmsError)) rms")
                row(
                    "bound",
                    "\(sci(v.maxBound)) max · \(sci(v.rmsBound)) rms (\(Verifier.shortNumber(v.factor))× reference + floor \(sci(v.floor)))"
                        + " — " + margin(v.margin))
                row(
                    "worst element",
                    "[\(v.worstIndex.map(String.init).joined(separator: ", "))]: candidate \(String(format: "%.7g", v.worstCandidate))"
                        + " vs f64 \(String(format: "%.7g", v.worstReference64)) (reference \(v.budgetSource) \(String(format: "%.7g", v.worstBudgetReference)))"
                )
                if r.float64Samples < r.samples {
                    row("f64 samples", "the verdict covers the first \(r.float64Samples) of \(r.samples) samples")
                }
                if v.nonFinite > 0 {
                    row(
                        "non-finite",
                        "\(v.nonFinite) elements are NaN in either, or infinite in one only (candidate vs f64)")
                }
            }
            row(
                "vs reference f32",
                "max abs \(sci(e.maxAbsError)) at [\(e.maxAbsIndex.map(String.init).joined(separator: ", "))] (\(String(format: "%.7g", e.candidateValue)) vs \(String(format: "%.7g", e.referenceValue)))"
                    + " · max rel \(sci(e.maxRelError))")
            row(
                "",
                "mean abs \(sci(e.meanAbsError)) · rms \(sci(e.rmsError)) · cosine \(String(format: "%.7f", e.cosineSimilarity))"
            )
            if let agree = e.argmaxAgreement { row("argmax", "\(agree)/\(e.rows) agree") }
            row("allclose needs", "atol ≥ \(sci(e.neededAtol)) or rtol ≥ \(sci(e.neededRtol))")
            let decades = e.histogram.keys.compactMap { Int($0) }.sorted()
            if !decades.isEmpty {
                let total = Double(max(1, e.count))
                var parts = decades.map { "1e\($0) \(bar(Double(e.histogram[String($0)] ?? 0) / total))" }
                if let exact = e.histogram["exact"] { parts.insert("exact \(bar(Double(exact) / total))", at: 0) }
                row("errors by decade", parts.joined(separator: " "))
            } else if e.histogram["exact"] != nil {
                row("errors by decade", "all \(e.count) elements identical")
            }
            if o.verdict == nil, let f = o.float32Error {
                row(
                    "error budget",
                    "candidate vs reference \(sci(e.maxAbsError)) · reference f32 vs f64 \(sci(f.maxAbsError))")
            }
            if e.nonFinite > 0 { row("non-finite", "\(e.nonFinite) elements are NaN, or infinite in one model only") }
            out += "  " + (o.passed ? Terminal.green("pass") : Terminal.red("FAIL")) + "\n"
        }
        if let a = r.accuracy {
            row(
                "accuracy",
                String(
                    format:
                        "top-1 %.2f%% (reference) vs %.2f%% (candidate) on %d labeled samples · %d predictions changed",
                    a.referenceTop1 * 100, a.candidateTop1 * 100, a.samples, a.changedPredictions))
        }
        if let layers = r.layers {
            let shown =
                r.passed
                ? layers
                : Array(layers.prefix { $0.passed || $0.note != nil })
                    + layers.drop { $0.passed || $0.note != nil }.prefix(1)
            out +=
                "per layer (\(layers.count) shared values, \(r.layerSamples ?? 1) sample\((r.layerSamples ?? 1) == 1 ? "" : "s"))"
                + (shown.count < layers.count ? ", up to the first divergence" : "") + ":\n"
            for l in shown {
                let name = displaySafe(l.candidate == l.reference ? l.candidate : "\(l.candidate) ≙ \(l.reference)")
                let status =
                    l.passed
                    ? (l.margin.map { "ok (" + margin($0) + ")" } ?? "ok") : (l.note ?? Terminal.red("DIVERGES"))
                out +=
                    "  " + name.padding(toLength: 32, withPad: " ", startingAt: 0)
                    + " max |Δ| \(sci(l.maxAbsError))".padding(toLength: 20, withPad: " ", startingAt: 0)
                    + "  \(status)\n"
            }
            if let first = r.firstDivergence { out += "first divergence: \(displaySafe(first))\n" }
        }
        out += (r.passed ? Terminal.green("PASS") : Terminal.red("FAIL")) + " (\(r.ruleDescription))\n"
        return out
    }

    /// "margin ×17" (room before failing) or "over by ×3.2".
    static func margin(_ m: Double) -> String {
        if m.isInfinite { return "exact" }
        return m >= 1
            ? "margin ×\(String(format: "%.3g", m))" : "over by ×\(String(format: "%.3g", 1 / max(m, 1e-300)))"
    }
}
