// `cnnconv export`: a cnnconv model file → an ONNX model that onnxruntime runs with the same outputs.
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNONNX
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Convert a cnnconv model file to ONNX (opset 17; 19 or 21 when an op needs it)."
    )

    @Argument(help: "A cnnconv model file.")
    var model: String

    @Option(name: [.short, .customLong("output")], help: "The ONNX file to write (default: the input with .onnx).")
    var output: String?

    @Flag(help: "Print a summary as JSON.")
    var json = false

    @OptionGroup var input: InputShapeOption

    struct Summary: Encodable {
        var input: String
        var output: String
        var opset: Int
        var onnxNodes: Int
        var initializers: Int
        var batchNormalizationNodes: Int
    }

    var outputPath: String {
        if let output { return output }
        let url = URL(fileURLWithPath: model)
        return url.pathExtension.isEmpty
            ? model + ".onnx" : url.deletingPathExtension().appendingPathExtension("onnx").path
    }

    func run() throws {
        try checkOutput(outputPath, notReplacing: [model])
        let graph = try loadModel(model, inputShapes: input)
        let proto: Onnx_ModelProto
        do {
            proto = try ONNXExporter.exportModel(graph)
            try ONNXExporter.write(graph, to: outputPath)
        } catch {
            throw CLIFailure(error)
        }
        let summary = Summary(
            input: model, output: outputPath, opset: ONNXExporter.opset(for: graph), onnxNodes: proto.graph.node.count,
            initializers: proto.graph.initializer.count,
            batchNormalizationNodes: proto.graph.node.filter { $0.opType == "BatchNormalization" }.count)
        if json {
            print(try Format.json(summary))
        } else {
            print(
                displaySafe(
                    "\(model) → \(outputPath): \(graph.nodes.count) nodes → \(summary.onnxNodes) ONNX nodes, opset \(summary.opset), \(summary.initializers) initializers"
                ))
        }
    }
}
