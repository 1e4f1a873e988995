// `cnnconv recalibrate`: recompute every BatchNorm's running statistics from calibration data
// (CNNRuntime's Recalibration), write a new model, and report how far each BatchNorm moved.
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNKernels
import CNNRuntime
import CNNVerify
import Foundation

struct RecalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recalibrate",
        abstract: "Recompute every BatchNorm's running mean and variance from calibration data and write a new model.",
        discussion: """
            Runs the model over all samples with BatchNorm on batch statistics and dropout off, and
            stores the exact mean and unbiased variance of every value each BatchNorm saw (Float64,
            any batch split), as PyTorch's torch.optim.swa_utils.update_bn does with momentum=None.
            A BatchNorm after another sees inputs normalized with per-batch statistics (as in
            update_bn), so its statistics depend a little on --batch; the first BatchNorm's do not.
            """
    )

    @Argument(help: "The model to recalibrate (never overwritten unless --in-place).")
    var model: String

    @Option(
        parsing: .singleValue,
        help: "Calibration .npy, samples on axis 0: one per graph input in order, or NAME=FILE (repeat the option).")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Output file (default: MODEL with .recalibrated before the extension).")
    var output: String?

    @Option(help: "Samples per run when the graph's batch is symbolic (a fixed batch is fed as it is).")
    var batch: Int = 64

    @Option(name: .customLong("min-values"), help: "Flag BatchNorms whose channels saw fewer values than this.")
    var minValues: Int = 100

    @Option(help: "Kernel threads (default: all cores).")
    var threads: Int?

    @Option(help: "Write an SVG chart of the statistic shift per BatchNorm.")
    var plot: String?

    @Flag(help: "Replace MODEL with the recalibrated model.")
    var inPlace = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var memory: MemoryLimitOption

    @OptionGroup var inputShape: InputShapeOption

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give the calibration data with --inputs FILE.npy") }
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2 (batch statistics need two values)") }
        guard minValues >= 0 else { throw ValidationError("--min-values must not be negative") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let o = output, !inPlace,
            URL(fileURLWithPath: o).standardized.path == URL(fileURLWithPath: model).standardized.path
        {
            throw ValidationError("the output would replace the input model; pass --in-place to allow that")
        }
        if inPlace && output != nil {
            throw ValidationError("--in-place writes over MODEL; it cannot be combined with --output")
        }
    }

    var outputPath: String {
        if inPlace { return model }
        if let output { return output }
        return PathNames.inserting(".recalibrated", beforeExtensionOf: model)
    }

    func run() throws {
        try memory.apply()
        let graph = try loadModel(model, inputShapes: inputShape)
        let data = try readInputs(inputs, option: "--inputs", for: graph, as: Float.self)
        var options = RecalibrationOptions()
        options.batch = batch
        options.minimumValuesPerChannel = minValues
        if let threads { options.threads = threads }
        let result: (graph: Graph, report: RecalibrationReport)
        do { result = try Recalibration.recalibrate(graph, inputs: data, options: options) } catch {
            throw CLIFailure("\(model): \(error)")
        }
        var recalibrated = result.graph
        recalibrated.producer = Graph.defaultProducer
        let path = outputPath
        do { try recalibrated.write(to: path) } catch { throw CLIFailure(error) }
        if let plot {
            do { try SVGPlot.batchNormShift(result.report).write(to: plot) } catch { throw CLIFailure(error) }
        }
        if json {
            print(try Format.json(RecalibrateJSON(input: model, output: path, plot: plot, report: result.report)))
        } else {
            print(Self.render(model: model, output: path, report: result.report), terminator: "")
        }
    }

    static func render(model: String, output: String, report r: RecalibrationReport) -> String {
        var out = "\(model) → \(output)\n"
        let fed = r.runs == 1 ? "in one run" : "\(r.runBatch) at a time in \(r.runs) runs"
        out +=
            "recalibrated \(r.batchNorms.count) BatchNorm layer\(r.batchNorms.count == 1 ? "" : "s") on \(r.samples) samples (\(fed))"
            + (r.paddedSamples > 0 ? ", the last run padded with \(r.paddedSamples) copies (not counted)" : "") + "\n\n"
        func num(_ v: Double) -> String { String(format: "%.3g", v) }
        var rows = [["BatchNorm", "channels", "values/ch", "max shift", "mean shift", "max |Δμ|/σ", "σ new/old"]]
        for b in r.batchNorms {
            rows.append([
                b.node, String(b.channels), Format.count(b.valuesPerChannel) + (b.fewValues ? " (few)" : ""),
                num(b.maxShift), num(b.meanShift), num(b.maxMeanChange),
                "\(num(b.minScaleRatio))–\(num(b.maxScaleRatio))",
            ])
        }
        for (i, row) in Format.table(rows, rightAligned: [1, 2, 3, 4, 5]).enumerated() {
            out += (i == 0 ? Terminal.bold(row) : row) + "\n"
        }
        out +=
            "shift: distance between the old and new N(μ, σ²) per channel (2-Wasserstein), in old standard deviations\n"
        let few = r.batchNorms.filter(\.fewValues)
        if !few.isEmpty {
            out +=
                Terminal.yellow("warning: ")
                + "\(few.map(\.node).joined(separator: ", ")) saw fewer than \(r.minimumValuesPerChannel) values per channel: their statistics are noisy; give more samples\n"
        }
        return out
    }
}

struct RecalibrateJSON: Encodable {
    var input: String
    var output: String
    var plot: String?
    var report: RecalibrationReport
}
