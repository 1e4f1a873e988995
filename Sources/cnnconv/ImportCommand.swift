// `cnnconv import`: an ONNX model → a cnnconv model file, with a report of what was folded and fused.
import ArgumentParser
import CNNConvKit
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

    @OptionGroup var inputShape: InputShapeOption

    @Flag(help: "Print the import report as JSON.")
    var json = false

    var outputPath: String {
        if let output { return output }
        let url = URL(fileURLWithPath: model)
        return url.pathExtension.lowercased() == "onnx"
            ? url.deletingPathExtension().appendingPathExtension("cnnm").path : model + ".cnnm"
    }

    func run() throws {
        try checkOutput(outputPath, notReplacing: [model])
        let shapes = try inputShape.shapes()
        let graph: Graph, report: ImportReport
        do {
            // The importer reads the file itself: regular files only, never blocking on a FIFO.
            (graph, report) = try ONNXImporter.importModel(
                path: model, inputShape: shapes.unnamed, inputShapes: shapes.named)
        } catch {
            throw CLIFailure(ModelFiles.Failure(error, path: model))
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
