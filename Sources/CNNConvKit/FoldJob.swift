// The fold workflow with its rules, as a library call: load → fold → store as asked → verify
// → write only what passed. `cnnconv fold` parses arguments into a `FoldJob` and renders its
// `FoldOutcome`; a Swift program does the same in a few lines.
import Foundation

/// What to fold and how. The defaults are the tool's: all passes, f32 raw, a check on 8 random
/// inputs (2 also in Float64) under the default verdict, nothing written when it fails.
public struct FoldJob: Sendable {
    /// Storage of the written weights; folding rounds once from Float64 to its element type.
    public var storage = StorageFormat.f32Raw
    /// Pass names to run, in order (nil: all of `FoldPasses.all`).
    public var passes: [String]?
    /// The check before writing; nil skips it.
    public var verification: VerifyOptions? = FoldJob.defaultVerification
    /// Write even when the check fails.
    public var force = false
    /// Input shapes for a model that leaves them open (`--input-shape`; see `ModelFiles.load`).
    public var inputShapes = InputShapes()

    /// 8 random samples, the verdict on the first 2 (the Float64 run costs twice a Float32 one).
    public static var defaultVerification: VerifyOptions {
        var v = VerifyOptions()
        v.samples = 8
        v.float64Samples = 2
        return v
    }

    /// The tool's defaults, so that a program gets the same refuse-on-failure behaviour as `cnnconv fold`.
    public init() {}

    /// `MODEL.folded.EXT` beside the input (`MODEL.folded` when it has no extension).
    public static func defaultOutput(for input: String) -> String {
        PathNames.inserting(".folded", beforeExtensionOf: input)
    }

    /// Folds `graph` and checks the result; writes nothing.
    public func fold(_ graph: Graph) throws(FoldJobError) -> FoldOutcome {
        let pipeline: [Pass]
        do { pipeline = try FoldPasses.pipeline(passes) } catch { throw .usage(error.description) }
        let result: FoldResult
        do {
            result = try FoldPasses.fold(graph, passes: pipeline, options: FoldOptions(storage: storage.elementType))
        } catch {
            throw .invalidModel(error.description)
        }
        var outcome = FoldOutcome(original: graph, folded: graph, reports: result.reports)
        if result.wasAlreadyFolded && storage == .f32Raw {
            outcome.alreadyFolded = true
            return outcome
        }
        var folded = result.graph.storingParameters(as: storage)
        folded.producer = Graph.defaultProducer
        outcome.folded = folded
        if var v = verification {
            v.candidateStorage = storage.elementType
            do { outcome.verification = try Verifier.verify(reference: graph, candidate: folded, options: v) } catch {
                throw .verificationCouldNotRun(error.description)
            }
        }
        return outcome
    }

    /// Reads `input` (cnnconv or ONNX), folds, checks and — when the check passes or `force` —
    /// writes `output` (default `defaultOutput(for:)`; ONNX when it ends in `.onnx`). Refuses
    /// an output that is the input itself unless `inPlace`. An already folded f32 model is not
    /// written again.
    public func run(input: String, output: String? = nil, inPlace: Bool = false) throws(FoldJobError) -> FoldOutcome {
        let destination = inPlace ? input : output ?? Self.defaultOutput(for: input)
        // Only a regular file (or none yet), never the input under another name (device and
        // inode, through symlinks) — checked before any work.
        do { _ = try OutputPath(destination, notReplacing: inPlace ? [] : [input]) } catch {
            if case .wouldReplaceInput = error { throw .usage("\(error); pass --in-place to allow that") }
            throw .usage(error.description)
        }
        let graph: Graph
        do { graph = try ModelFiles.load(input, inputShapes: inputShapes) } catch {
            throw error.cause == .invalidModel ? .invalidModel(error.description) : .inputShape(error)
        }
        var outcome = try fold(graph)
        outcome.output = destination
        guard !outcome.alreadyFolded, outcome.passed || force else { return outcome }
        do { try ModelFiles.write(outcome.folded, to: destination) } catch { throw .cannotWrite(error.description) }
        outcome.wrote = true
        return outcome
    }
}

/// What a fold did, for the CLI to render or a program to inspect.
public struct FoldOutcome: Sendable {
    /// The model as read, and as folded (and stored as asked).
    public var original: Graph
    /// What would be (or was) written: compare with `original` to see what folding changed.
    public var folded: Graph
    /// Per pass, what was folded into what and what was skipped and why, as typed fields.
    public var reports: [PassReport]
    /// The check's report (nil when skipped or when nothing was folded).
    public var verification: VerifyReport?
    /// The model was already folded: nothing to do, nothing written.
    public var alreadyFolded = false
    /// Where the result goes, and whether it was written.
    public var output: String?
    /// False when the check failed (without `force`) or the model was already folded: the input
    /// is never overwritten and no partial output is left.
    public var wrote = false

    /// Whether the check passed (true when it was skipped).
    public var passed: Bool { verification?.passed ?? true }

    init(original: Graph, folded: Graph, reports: [PassReport]) {
        self.original = original; self.folded = folded; self.reports = reports
    }
}

/// Why a fold could not be done, by whose fault: the exit code follows from the case.
public enum FoldJobError: Error, CustomStringConvertible, Sendable {
    /// A bad request: unknown pass, output over the input (exit 2).
    case usage(String)
    /// The model cannot be read or folded (exit 3).
    case invalidModel(String)
    /// The check could not run (exit 3).
    case verificationCouldNotRun(String)
    /// The result could not be written (exit 3).
    case cannotWrite(String)
    /// The model's input shape is open and not given, or the given one contradicts it.
    case inputShape(ModelFiles.Failure)

    /// The message alone; the case decides the exit code, so callers need not parse it.
    public var description: String {
        switch self {
        case .usage(let m), .invalidModel(let m), .cannotWrite(let m): return m
        case .verificationCouldNotRun(let m): return "verification could not run: \(m)"
        case .inputShape(let failure): return failure.description
        }
    }
}
