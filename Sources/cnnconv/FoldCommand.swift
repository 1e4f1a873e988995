// `cnnconv fold`: parse the options into a `FoldJob` (CNNConvKit), run it, render its outcome.
import ArgumentParser
import CNNConvKit
import Foundation

extension StorageFormat.ElementType: ExpressibleByArgument {}

/// `--compress`: the tensor encoding, by the names the CLI uses.
enum Compression: String, CaseIterable, ExpressibleByArgument {
    case none, deflate, shuffle
    var encoding: StorageFormat.Encoding {
        switch self {
        case .none: return .raw
        case .deflate: return .deflate
        case .shuffle: return .shuffle
        }
    }
}

struct FoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fold",
        abstract:
            "Fold BatchNorm into conv/linear weights, apply dropout's inference rule, verify, and write the result.",
        discussion: "MODEL and -o may be .cnnm or .onnx (ONNX in, folded ONNX out in one step). Passes: "
            + FoldPasses.names.joined(separator: ", ")
    )

    @Argument(
        help: "The model to fold (never overwritten unless --in-place).",
        completion: .file(extensions: ["cnnm", "onnx"]))
    var model: String

    @Option(
        name: .shortAndLong, help: "Output file (default: MODEL with .folded before the extension); .onnx writes ONNX.",
        completion: .file(extensions: ["cnnm", "onnx"]))
    var output: String?

    @Option(help: "Storage type of the written weights.")
    var dtype: StorageFormat.ElementType = .float32

    @Option(help: "Tensor encoding (shuffle: byte-shuffle + deflate).")
    var compress: Compression = .none

    @Option(help: "Comma-separated passes to run (default: all).")
    var passes: String?

    @Flag(help: "Skip verification.")
    var noVerify = false

    @Flag(help: "Write the result even if verification fails.")
    var force = false

    @Flag(help: "Replace MODEL with the folded model.")
    var inPlace = false

    @Flag(help: "List every change and skip, with reasons.")
    var explain = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Random inputs for verification.")
    var samples = FoldJob.defaultVerification.samples

    @Option(
        name: .customLong("f64-samples"), help: "Of those, samples that also run in Float64 and decide the verdict.")
    var f64Samples = FoldJob.defaultVerification.float64Samples ?? 2

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 0

    @Option(
        help: "Judge with numpy.allclose at this absolute tolerance instead of against Float64 (rtol defaults to 1e-4)."
    )
    var atol: Double?

    @Option(
        help: "Judge with numpy.allclose at this relative tolerance instead of against Float64 (atol defaults to 1e-5)."
    )
    var rtol: Double?

    @OptionGroup var memory: MemoryLimitOption

    @OptionGroup var inputShape: InputShapeOption

    func validate() throws {
        guard samples >= 1, samples <= MemoryLimitOption.maxSamples else {
            throw ValidationError("--samples must be from 1 to \(MemoryLimitOption.maxSamples)")
        }
        guard f64Samples >= 1 else { throw ValidationError("--f64-samples must be at least 1") }
        if dtype != .float32 || compress != .none, (output ?? model).lowercased().hasSuffix(".onnx") {
            throw ValidationError("--dtype and --compress apply to .cnnm output; ONNX stores float32")
        }
    }

    /// The job these options describe.
    var job: FoldJob {
        var job = FoldJob()
        // Parsed in validate() already.
        job.inputShapes = (try? inputShape.shapes()) ?? InputShapes()
        job.storage = StorageFormat(dtype, compress.encoding)
        job.passes = passes.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        job.force = force
        if noVerify {
            job.verification = nil
        } else {
            job.verification?.samples = samples
            job.verification?.float64Samples = f64Samples
            job.verification?.seed = seed
            job.verification?.rule = VerificationRule(atol: atol, rtol: rtol)
            job.verification?.progress = Progress.reporter()
        }
        return job
    }

    func run() throws {
        try memory.apply()
        MappedFileGuard.watch(model)
        let outcome: FoldOutcome
        do { outcome = try job.run(input: model, output: output, inPlace: inPlace) } catch {
            Progress.finish()
            switch error {
            case .usage: throw CLIFailure(error.description, exitCode: .usage)
            case .inputShape(let failure): throw CLIFailure(failure)
            case .verificationCouldNotRun: throw CLIFailure("\(model): \(error)")
            default: throw CLIFailure(error.description)
            }
        }
        Progress.finish()
        let path = outcome.output ?? FoldJob.defaultOutput(for: model)
        if outcome.alreadyFolded {
            let message =
                "\(model) is already folded (\(outcome.original.appliedPasses.joined(separator: ", "))): nothing to do, nothing written"
            if json {
                print(try Format.json(["status": "already-folded", "message": message]))
            } else {
                print(message)
            }
            return
        }
        let before = try? InspectionReport(graph: outcome.original)
        let after = try? InspectionReport(graph: outcome.folded)
        // stat, not FileManager's attributes (which also look up the owner's and group's names).
        var info = stat()
        let size = stat(path, &info) == 0 ? Int(info.st_size) : 0
        if json {
            print(
                try Format.json(
                    FoldJSON(
                        input: model, output: outcome.wrote ? path : nil, reports: outcome.reports,
                        verification: outcome.verification,
                        counts: .init(before: before.map(Counts.init), after: after.map(Counts.init)),
                        bytes: outcome.wrote ? size : nil)))
        } else {
            print(
                FoldRenderer.render(
                    model: model, output: path, reports: outcome.reports, verification: outcome.verification,
                    before: before, after: after, wrote: outcome.wrote, size: size, explain: explain), terminator: "")
        }
        if !outcome.passed {
            Terminal.error(
                outcome.wrote
                    ? "verification failed; wrote \(path) anyway (--force)"
                    : "verification failed; nothing written (use --force to write anyway)")
            throw ExitStatus.verificationFailed.code
        }
    }
}

struct Counts: Codable {
    var batchNorm: Int
    var dropout: Int
    var affine: Int
    var nodes: Int
    var macs: Int
    var parameters: Int
    init(_ r: InspectionReport) {
        batchNorm = r.opCounts["BatchNorm"] ?? 0
        dropout = r.opCounts["Dropout"] ?? 0
        affine = r.opCounts["Affine"] ?? 0
        nodes = r.nodes.count
        macs = r.macs
        parameters = r.parameters
    }
}

struct FoldJSON: Codable {
    struct Before: Codable { var before: Counts?; var after: Counts? }
    var input: String
    var output: String?
    var reports: [PassReport]
    var verification: VerifyReport?
    var counts: Before
    var bytes: Int?
}

enum FoldRenderer {
    static func render(
        model: String, output: String, reports: [PassReport], verification: VerifyReport?,
        before: InspectionReport?, after: InspectionReport?, wrote: Bool, size: Int, explain: Bool
    ) -> String {
        var out = "\(model) → \(output)\n"
        func row(_ label: String, _ text: String) {
            out += "  " + label.padding(toLength: max(16, label.count + 2), withPad: " ", startingAt: 0) + text + "\n"
        }
        let lines = reports.flatMap { r in r.lines.map { (r.kind, $0) } }
        func list(_ items: [String], limit: Int = 3) -> String {
            items.count <= limit
                ? items.joined(separator: ", ")
                : items.prefix(limit).joined(separator: ", ") + ", … (--explain lists all)"
        }
        func of(_ kind: PassReport.Kind, _ actions: PassReport.Action...) -> [PassReport.Line] {
            lines.filter { $0.0 == kind && (actions.isEmpty || actions.contains($0.1.action)) }.map(\.1)
        }
        // fold-batchnorm folds BatchNorms and affines (a conv's bias written as an Add, an
        // inference-time ×0.8): each under its own name; `producer←node` into the layer before,
        // `node→consumer` into the layer after.
        let folded = of(.batchNorm, .folded)
        let bnFolded = folded.filter { $0.op != "Affine" }, affineFolded = folded.filter { $0.op == "Affine" }
        func into(_ l: PassReport.Line) -> String {
            l.forward == true ? "\(l.node)→\(l.target ?? "?")" : "\(l.target ?? "?")←\(l.node)"
        }
        if !bnFolded.isEmpty { row("BN → weights", "\(bnFolded.count) folded (" + list(bnFolded.map(into)) + ")") }
        if !affineFolded.isEmpty {
            row("affine → weights", "\(affineFolded.count) folded (" + list(affineFolded.map(into)) + ")")
        }
        let toAffine = of(.batchNormToAffine, .converted)
        if !toAffine.isEmpty {
            row(
                "BN → affine",
                "\(toAffine.count) (" + list(toAffine.map { "\($0.node): " + ($0.reason ?? $0.detail) }, limit: 2) + ")"
            )
        }
        let merged = lines.filter { $0.1.action == .merged }
        if !merged.isEmpty { row("affine merge", list(merged.map { $0.1.node })) }
        let dropout = of(.dropout)
        if !dropout.isEmpty {
            row(
                "dropout",
                list(
                    dropout.map { l -> String in
                        switch l.action {
                        case .removed: return "\(l.node) removed (inverted)"
                        case .folded:
                            return "\(l.node) ×\(l.factor.map { trimmed($0) } ?? "?") into \(l.target ?? "?") (classic)"
                        default: return "\(l.node) → affine"
                        }
                    }, limit: 4))
        }
        let reparam = of(.weightReparameterization, .folded)
        if !reparam.isEmpty { row("weight reparam", "\(reparam.count) folded (" + list(reparam.map(\.node)) + ")") }
        let removed = of(.cleanup, .removed)
        if !removed.isEmpty { row("clean-up", "\(removed.count) removed (" + list(removed.map(\.node)) + ")") }
        if folded.isEmpty && toAffine.isEmpty && dropout.isEmpty && reparam.isEmpty && removed.isEmpty {
            row("passes", "nothing to fold")
        }
        if let v = verification {
            row(
                "verify",
                VerifyRenderer.inputs(v)
                    + (v.float64Samples > 0 && v.float64Samples < v.samples ? ", \(v.float64Samples) also in f64" : ""))
            for o in v.outputs {
                var text: String
                if let d = o.verdict {
                    text =
                        "max |Δ| vs f64 \(sci(d.candidateMaxError)) (\(d.budgetSource) itself: \(sci(d.budgetMaxError)))"
                        + " · bound \(sci(d.maxBound)), " + VerifyRenderer.margin(d.margin)
                } else {
                    text =
                        "max |Δ| \(sci(o.error.maxAbsError))"
                        + (o.float32Error.map { " (f32 itself: \(sci($0.maxAbsError)) vs f64)" } ?? "")
                }
                text += " — " + (o.passed ? Terminal.green("pass") : Terminal.red("FAIL"))
                if !o.passed, let d = o.verdict {
                    text +=
                        "; worst [\(d.worstIndex.map(String.init).joined(separator: ", "))] \(String(format: "%.7g", d.worstCandidate)) vs \(String(format: "%.7g", d.worstReference64))"
                }
                row("  " + (v.outputs.count > 1 ? o.name : "output"), text)
            }
            if !v.passed, let first = v.firstDivergence { row("  first diverging", first) }
            row("  rule", v.ruleDescription)
        } else {
            row("verify", "skipped (--no-verify)")
        }
        if explain {
            out += "\nPass report:\n"
            for r in reports {
                out += "  \(r.pass)\n"
                if r.lines.isEmpty { out += "    (nothing to do)\n" }
                for l in r.lines {
                    out +=
                        "    \(l.action.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(l.node): \(l.detail)\n"
                }
            }
        }
        if wrote, let b = before, let a = after {
            out +=
                "wrote \(output): \(Format.bytes(size)) · BatchNorm \(b.opCounts["BatchNorm"] ?? 0)→\(a.opCounts["BatchNorm"] ?? 0)"
                + " · Dropout \(b.opCounts["Dropout"] ?? 0)→\(a.opCounts["Dropout"] ?? 0)"
                + " · nodes \(b.nodes.count)→\(a.nodes.count) · \(Format.count(b.macs)) → \(Format.count(a.macs)) MACs\n"
        }
        return out
    }
}
