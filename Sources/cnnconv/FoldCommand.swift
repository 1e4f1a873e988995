// `cnnconv fold`: fold BatchNorm and dropout into weights, verify, write a new file.
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNPasses
import CNNVerify
import Foundation

struct FoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fold",
        abstract: "Fold BatchNorm into conv/linear weights, apply dropout's inference rule, verify, and write the result.",
        discussion: "Passes: " + FoldPasses.names.joined(separator: ", ")
    )

    @Argument(help: "The model to fold (never overwritten unless --in-place).")
    var model: String

    @Option(name: .shortAndLong, help: "Output file (default: MODEL with .folded before the extension).")
    var output: String?

    @Option(help: "Storage type of the written weights: f32, f16 or bf16.")
    var dtype: String = "f32"

    @Option(help: "Tensor encoding: none, deflate or shuffle (byte-shuffle + deflate).")
    var compress: String = "none"

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
    var samples = 8

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 0

    @Option(help: "Absolute tolerance (default: 1e-5 for f32, 1e-2 for f16, 5e-2 for bf16).")
    var atol: Double?

    @Option(help: "Relative tolerance (default: 1e-4 for f32, 1e-2 for f16, 5e-2 for bf16).")
    var rtol: Double?

    var element: StorageFormat.ElementType? {
        StorageFormat.ElementType(rawValue: dtype)
    }
    var encoding: StorageFormat.Encoding? {
        compress == "none" ? .raw : StorageFormat.Encoding(rawValue: compress).flatMap { $0 == .raw ? nil : $0 }
    }

    func validate() throws {
        guard element != nil else { throw ValidationError("--dtype must be f32, f16 or bf16, not '\(dtype)'") }
        guard encoding != nil else { throw ValidationError("--compress must be none, deflate or shuffle, not '\(compress)'") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        // By device and inode (a symlink or another spelling is the same file), and only regular files.
        do { _ = try OutputPath(outputPath, notReplacing: inPlace ? [] : [model]) } catch {
            if case .wouldReplaceInput = error { throw ValidationError("\(error); pass --in-place to allow that") }
            throw ValidationError(error.description)
        }
    }

    var outputPath: String {
        if inPlace { return model }
        if let output { return output }
        let ext = (model as NSString).pathExtension
        let stem = (model as NSString).deletingPathExtension
        return ext.isEmpty ? model + ".folded" : "\(stem).folded.\(ext)"
    }

    func run() throws {
        let element = element!, encoding = encoding!
        let original = try loadModel(model)
        let passList: [Pass]
        do { passList = try FoldPasses.pipeline(passes.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }) } catch {
            throw CLIFailure(error, exitCode: .usage)
        }
        let options = FoldOptions(storage: FoldOptions.StorageElement(rawValue: element.rawValue) ?? .float32)
        let result: FoldResult
        do { result = try FoldPasses.fold(original, passes: passList, options: options) } catch { throw CLIFailure(error) }

        if result.wasAlreadyFolded && element == .float32 && encoding == .raw {
            let message = "\(model) is already folded (\(original.appliedPasses.joined(separator: ", "))): nothing to do, nothing written"
            if json { print(try Format.json(["status": "already-folded", "message": message])) } else { print(message) }
            return
        }
        var folded = result.graph
        let format = StorageFormat(element, encoding)
        folded.mapParameters { t in
            guard t.storage != format else { return t }
            // Values as the new storage will hold them (no copy for f32).
            let values = format.elementType == .float32 ? t.values : FloatBuffer(format.roundTripped(t.array))
            return Tensor(name: t.name, shape: t.shape, buffer: values, storage: format)
        }
        folded.producer = Graph.defaultProducer

        var verification: VerifyReport? = nil
        if !noVerify {
            var v = VerifyOptions()
            v.samples = samples
            v.seed = seed
            v.atol = atol ?? (element == .float32 ? 1e-5 : element == .float16 ? 1e-2 : 5e-2)
            v.rtol = rtol ?? (element == .float32 ? 1e-4 : element == .float16 ? 1e-2 : 5e-2)
            do { verification = try Verifier.verify(reference: original, candidate: folded, options: v) } catch {
                throw CLIFailure("\(model): verification could not run: \(error)")
            }
        }
        let passed = verification?.passed ?? true
        let path = outputPath
        var wrote = false
        if passed || force {
            do { try folded.write(to: path) } catch { throw CLIFailure(error) }
            wrote = true
        }
        let before = try? InspectionReport(graph: original)
        let after = try? InspectionReport(graph: folded)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int).flatMap { $0 } ?? 0
        if json {
            print(try Format.json(FoldJSON(input: model, output: wrote ? path : nil, reports: result.reports, verification: verification,
                                           counts: .init(before: before.map(Counts.init), after: after.map(Counts.init)), bytes: wrote ? size : nil)))
        } else {
            print(FoldRenderer.render(model: model, output: path, reports: result.reports, verification: verification,
                                      before: before, after: after, wrote: wrote, size: size, explain: explain), terminator: "")
        }
        if !passed {
            Terminal.error(wrote ? "verification failed; wrote \(path) anyway (--force)"
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
    static func render(model: String, output: String, reports: [PassReport], verification: VerifyReport?,
                       before: InspectionReport?, after: InspectionReport?, wrote: Bool, size: Int, explain: Bool) -> String {
        var out = "\(model) → \(output)\n"
        func row(_ label: String, _ text: String) { out += "  " + label.padding(toLength: 16, withPad: " ", startingAt: 0) + text + "\n" }
        let lines = reports.flatMap { r in r.lines.map { (r.pass, $0) } }
        func list(_ items: [String], limit: Int = 3) -> String {
            items.count <= limit ? items.joined(separator: ", ") : items.prefix(limit).joined(separator: ", ") + ", … (--explain lists all)"
        }
        let bnFolded = lines.filter { $0.0 == "fold-batchnorm" && $0.1.action == .folded }
        if !bnFolded.isEmpty {
            row("BN → weights", "\(bnFolded.count) folded (" + list(bnFolded.map { "\($0.1.target ?? "?")←\($0.1.node)" }) + ")")
        }
        let toAffine = lines.filter { $0.0 == "batchnorm-to-affine" && $0.1.action == .converted }
        if !toAffine.isEmpty {
            row("BN → affine", "\(toAffine.count) (" + list(toAffine.map { "\($0.1.node): " + ($0.1.detail.components(separatedBy: " — ").last ?? "") }, limit: 2) + ")")
        }
        let merged = lines.filter { $0.1.action == .merged }
        if !merged.isEmpty { row("affine merge", list(merged.map { $0.1.node })) }
        let dropout = lines.filter { $0.0 == "fold-dropout" }
        if !dropout.isEmpty {
            row("dropout", list(dropout.map { l -> String in
                switch l.1.action {
                case .removed: return "\(l.1.node) removed (inverted)"
                case .folded: return "\(l.1.node) " + (l.1.detail.components(separatedBy: ": ").last ?? l.1.detail) + " (classic)"
                default: return "\(l.1.node) → affine"
                }
            }, limit: 4))
        }
        let reparam = lines.filter { $0.0 == "fold-weight-reparameterization" && $0.1.action == .folded }
        if !reparam.isEmpty { row("weight reparam", "\(reparam.count) folded (" + list(reparam.map { $0.1.node }) + ")") }
        let removed = lines.filter { $0.0 == "remove-identity" && $0.1.action == .removed }
        if !removed.isEmpty { row("clean-up", "\(removed.count) removed (" + list(removed.map { $0.1.node }) + ")") }
        if bnFolded.isEmpty && toAffine.isEmpty && dropout.isEmpty && reparam.isEmpty && removed.isEmpty {
            row("passes", "nothing to fold")
        }
        if let v = verification {
            for o in v.outputs {
                var text = "\(v.samples) \(v.inputSource == "random" ? "random inputs" : "inputs"): max |Δ| \(sci(o.error.maxAbsError))"
                if let f = o.float32Error { text += " (f32 itself: \(sci(f.maxAbsError)) vs f64)" }
                text += o.passed ? " — " + Terminal.green("pass") : " — " + Terminal.red("FAIL") + " (atol \(sci(v.atol)), rtol \(sci(v.rtol)))"
                row(v.outputs.count > 1 ? "verify \(o.name)" : "verify", text)
            }
        } else {
            row("verify", "skipped (--no-verify)")
        }
        if explain {
            out += "\nPass report:\n"
            for r in reports {
                out += "  \(r.pass)\n"
                if r.lines.isEmpty { out += "    (nothing to do)\n" }
                for l in r.lines { out += "    \(l.action.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(l.node): \(l.detail)\n" }
            }
        }
        if wrote, let b = before, let a = after {
            out += "wrote \(output): \(Format.bytes(size)) · BatchNorm \(b.opCounts["BatchNorm"] ?? 0)→\(a.opCounts["BatchNorm"] ?? 0)"
                + " · Dropout \(b.opCounts["Dropout"] ?? 0)→\(a.opCounts["Dropout"] ?? 0)"
                + " · nodes \(b.nodes.count)→\(a.nodes.count) · \(Format.count(b.macs)) → \(Format.count(a.macs)) MACs\n"
        }
        return out
    }
}
