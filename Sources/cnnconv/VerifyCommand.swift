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
        abstract: "Run a reference and a candidate model (e.g. unfolded and folded) on the same inputs and compare their outputs.",
        discussion: "Passes iff |candidate − reference| ≤ atol + rtol·|reference| for every element (numpy.allclose); exit 1 otherwise."
    )

    @Argument(help: "The reference model (e.g. the unfolded one).")
    var reference: String

    @Argument(help: "The candidate model (e.g. the folded one).")
    var candidate: String

    @Option(parsing: .upToNextOption, help: "Input .npy files, one per graph input, batch on axis 0 (default: random inputs).")
    var inputs: [String] = []

    @Option(help: "Class labels as .npy (one per sample) to report top-1 accuracy of both models.")
    var labels: String?

    @Option(help: "Number of random input samples.")
    var samples = 8

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 0

    @Option(help: "Samples per run (default: all, up to 32).")
    var batch: Int?

    @Option(help: "Absolute tolerance.")
    var atol = 1e-5

    @Option(help: "Relative tolerance.")
    var rtol = 1e-4

    @Flag(help: "Compare every value the two graphs share and name the first that diverges.")
    var perLayer = false

    @Flag(help: "Skip the Float64 run of the reference (the error budget).")
    var noBudget = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
        guard atol >= 0, rtol >= 0 else { throw ValidationError("tolerances must be ≥ 0") }
    }

    func run() throws {
        let a = try loadModel(reference)
        let b = try loadModel(candidate)
        var options = VerifyOptions()
        options.samples = samples
        options.seed = seed
        options.batch = batch
        options.atol = atol
        options.rtol = rtol
        options.perLayer = perLayer
        options.errorBudget = !noBudget
        if !inputs.isEmpty {
            guard inputs.count == a.inputs.count else {
                throw CLIFailure("\(inputs.count) input file(s) for \(a.inputs.count) graph input(s) (\(a.inputs.map(\.name).joined(separator: ", ")))", exitCode: .usage)
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
                options.labels = array.values.map { Int($0) }
            } catch { throw CLIFailure(error) }
        }
        options.progress = Progress.reporter()
        let report: VerifyReport
        do { report = try Verifier.verify(reference: a, candidate: b, options: options) } catch { throw CLIFailure(error) }
        Progress.finish()
        if json {
            print(try Format.json(report))
        } else {
            print(VerifyRenderer.render(report), terminator: "")
        }
        if !report.passed { throw ExitStatus.verificationFailed.code }
    }
}

/// Progress on stderr for runs over a second: an updating line on a terminal, plain lines otherwise.
enum Progress {
    nonisolated(unsafe) static var started = Date()
    nonisolated(unsafe) static var printed = false

    static func reporter() -> @Sendable (String) -> Void {
        started = Date()
        printed = false
        return { line in
            guard Date().timeIntervalSince(started) > 1 else { return }
            printed = true
            if Terminal.isTerminal(STDERR_FILENO) {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            } else {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
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

    static func render(_ r: VerifyReport) -> String {
        var out = ""
        func row(_ label: String, _ text: String) { out += "  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + text + "\n" }
        for o in r.outputs {
            let e = o.error
            out += "output \(displaySafe(o.name)) [\(formatShape(o.shape))], \(r.samples) \(r.inputSource == "random" ? "random inputs (seed \(r.seed))" : "inputs from files")\n"
            row("max abs error", "\(sci(e.maxAbsError))  at [\(e.maxAbsIndex.map(String.init).joined(separator: ", "))] (\(String(format: "%.7g", e.candidateValue)) vs \(String(format: "%.7g", e.referenceValue)))")
            row("max rel error", "\(sci(e.maxRelError))      mean abs \(sci(e.meanAbsError)) · rms \(sci(e.rmsError)) · cosine \(String(format: "%.7f", e.cosineSimilarity))")
            if let agree = e.argmaxAgreement { row("argmax", "\(agree)/\(e.rows) agree") }
            row("needed to pass", "atol ≥ \(sci(e.neededAtol)) or rtol ≥ \(sci(e.neededRtol))")
            let decades = e.histogram.keys.compactMap { Int($0) }.sorted()
            if !decades.isEmpty {
                let total = Double(max(1, e.count))
                var parts = decades.map { "1e\($0) \(bar(Double(e.histogram[String($0)] ?? 0) / total))" }
                if let exact = e.histogram["exact"] { parts.insert("exact \(bar(Double(exact) / total))", at: 0) }
                row("errors by decade", parts.joined(separator: " "))
            } else if e.histogram["exact"] != nil {
                row("errors by decade", "all \(e.count) elements identical")
            }
            if let f = o.float32Error {
                row("error budget", "candidate vs reference \(sci(e.maxAbsError)) · reference f32 vs f64 \(sci(f.maxAbsError))")
            }
            if e.nonFinite > 0 { row("non-finite", "\(e.nonFinite) elements are NaN or infinite in one model only") }
        }
        if let a = r.accuracy {
            row("accuracy", String(format: "top-1 %.2f%% (reference) vs %.2f%% (candidate) on %d labeled samples · %d predictions changed",
                                   a.referenceTop1 * 100, a.candidateTop1 * 100, a.samples, a.changedPredictions))
        }
        if let layers = r.layers {
            out += "per layer (\(layers.count) shared values, first batch):\n"
            for l in layers {
                let name = displaySafe(l.candidate == l.reference ? l.candidate : "\(l.candidate) ≙ \(l.reference)")
                let status = l.passed ? "ok" : (l.note ?? Terminal.red("DIVERGES"))
                out += "  " + name.padding(toLength: 32, withPad: " ", startingAt: 0) + " max |Δ| \(sci(l.maxAbsError))".padding(toLength: 20, withPad: " ", startingAt: 0) + "  \(status)\n"
            }
            if let first = r.firstDivergence { out += "first divergence: \(displaySafe(first))\n" }
        }
        out += r.passed ? Terminal.green("PASS") : Terminal.red("FAIL")
        out += " (atol \(sci(r.atol)), rtol \(sci(r.rtol)))\n"
        return out
    }
}
