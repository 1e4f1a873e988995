// `cnnconv import`: an ONNX model → a cnnconv model file, with a report of what was folded and fused.
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNONNX
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert an ONNX model (opset 7 or newer) to a cnnconv model file.",
        discussion: """
            Constant sub-graphs and shape arithmetic are computed at import; exporters' patterns \
            (x·sigmoid(x), x·clip(x+3,0,6)/6, MatMul+Add, Pad+Conv, Reshape–Transpose–Reshape, per-channel \
            Mul/Add) become single ops. An unsupported op fails with its name and the list of supported ops.
            """
    )

    @Argument(help: "The ONNX model.")
    var model: String

    @Option(name: [.short, .customLong("output")], help: "The model file to write (default: the input with .cnnm).")
    var output: String?

    @Option(
        name: .customLong("input-shape"),
        help: ArgumentHelp(
            "The input's shape when the model leaves it open, e.g. 1,3,224,224; name=1,3,224,224 for one of several inputs (repeatable).",
            valueName: "shape"))
    var inputShapes: [String] = []

    @Flag(help: "Print the import report as JSON.")
    var json = false

    func validate() throws {
        _ = try parsedShapes()
    }

    /// (unnamed shape, shapes by input name)
    func parsedShapes() throws -> ([Int]?, [String: [Int]]) {
        var unnamed: [Int]? = nil
        var named: [String: [Int]] = [:]
        for item in inputShapes {
            var name: String? = nil
            var dims = Substring(item)
            if let eq = item.lastIndex(of: "=") { name = String(item[..<eq]); dims = item[item.index(after: eq)...] }
            let values = dims.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError(
                    "--input-shape '\(item)' must be positive integers separated by commas, e.g. 1,3,224,224")
            }
            if let name {
                named[name] = values.compactMap { $0 }
            } else {
                guard unnamed == nil else {
                    throw ValidationError("give --input-shape once, or as name=shape per input")
                }
                unnamed = values.compactMap { $0 }
            }
        }
        return (unnamed, named)
    }

    var outputPath: String {
        if let output { return output }
        let url = URL(fileURLWithPath: model)
        return url.pathExtension.lowercased() == "onnx"
            ? url.deletingPathExtension().appendingPathExtension("cnnm").path : model + ".cnnm"
    }

    func run() throws {
        try checkOutput(outputPath, notReplacing: [model])
        let (shape, named) = try parsedShapes()
        let graph: Graph, report: ImportReport
        do {
            // The importer reads the file itself: regular files only, never blocking on a FIFO.
            (graph, report) = try ONNXImporter.importModel(path: model, inputShape: shape, inputShapes: named)
        } catch {
            throw CLIFailure(error)
        }
        do { try graph.write(to: outputPath) } catch { throw CLIFailure(error) }
        if json {
            print(try Format.json(report))
            return
        }
        print(
            displaySafe(
                "\(model) → \(outputPath): \(report.onnxNodeCount) ONNX nodes (opset \(report.opset)\(report.producer.isEmpty ? "" : ", \(report.producer)")) → \(report.graphNodeCount) nodes, \(Format.count(graph.parameterCount)) parameters"
            ))
        if report.foldedNodeCount > 0 {
            print("  computed at import: \(report.foldedNodeCount) constant/shape node(s)")
        }
        for (pattern, count) in report.fusedPatterns.sorted(by: { $0.key < $1.key }) {
            print("  fused: \(count)× \(pattern)")
        }
        for note in report.notes { print("  note: " + displaySafe(note)) }
    }
}
