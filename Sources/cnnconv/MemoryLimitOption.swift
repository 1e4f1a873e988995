// `--max-memory` (or CNNCONV_MAX_MEMORY): how much activation memory a model may need, shared by
// the commands that load and run models; and the bounds on counts a user gives on the command line.
import ArgumentParser
import CNNGraph
import Foundation

struct MemoryLimitOption: ParsableArguments {
    @Option(
        name: .customLong("max-memory"),
        help: ArgumentHelp(
            "Most activation memory a model may need: 16G, 512M, 1T or bytes (default 16G, or $\(SizeLimits.environmentVariable)).",
            valueName: "SIZE"))
    var maxMemory: String?

    /// Counts above these are refused as usage errors before anything is allocated.
    static let maxBatch = 1 << 20
    static let maxSamples = 1 << 24

    func validate() throws { _ = try limits() }

    /// From --max-memory, else the environment, else the default (16 GiB).
    func limits() throws -> SizeLimits {
        let given: (String, String)?
        if let maxMemory {
            given = ("--max-memory", maxMemory)
        } else {
            given = ProcessInfo.processInfo.environment[SizeLimits.environmentVariable].map {
                (SizeLimits.environmentVariable, $0)
            }
        }
        guard let (source, text) = given else { return SizeLimits() }
        guard let bytes = SizeLimits.parseBytes(text), bytes >= 1 << 20 else {
            throw ValidationError("\(source) must be a size from 1M to 4T such as 16G or 512M, got '\(text)'")
        }
        return SizeLimits(maxActivationBytes: bytes)
    }

    /// Makes the limit the process-wide default; call before loading a model.
    func apply() throws { SizeLimits.standard = try limits() }

    /// Refuses `samples` samples whose inputs and outputs (held in Float64 by the verifier)
    /// would not fit the memory limit, before any is generated.
    static func checkSamples(_ graph: Graph, path: String, samples: Int, option: String) throws {
        let shapes: ShapeMap
        do { shapes = try graph.inferShapes(batch: 1) } catch { throw CLIFailure("\(path): \(error)") }
        let perSample = (graph.inputs.map(\.name) + graph.outputs.map(\.name))
            .reduce(0) { $0.adding(checked: shapes[$1].flatMap(checkedElementCount) ?? 0) ?? .max }
        let limit = SizeLimits.standard
        guard let bytes = perSample.multiplied(checked: samples)?.multiplied(checked: 8),
            bytes <= limit.maxActivationBytes
        else {
            throw CLIFailure(
                "\(option) \(samples) needs more than \(limit) for the inputs and outputs alone (the memory limit; --max-memory raises it)",
                exitCode: .usage)
        }
    }
}
