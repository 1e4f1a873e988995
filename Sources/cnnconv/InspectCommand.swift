// `cnnconv inspect`: structure, shapes, parameters, MACs, BN and dropout plans of a model.
import ArgumentParser
import CNNConvKit
import CNNFormat
import CNNGraph
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's structure, shapes, parameters, MACs, BatchNorm and dropout details."
    )

    @Argument(help: "A model file (.cnnm, or .onnx imported on the fly).")
    var model: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Print the graph as Graphviz DOT.")
    var dot = false

    @Flag(help: "Skip tensor checksum verification (faster on huge files).")
    var noChecksums = false

    @OptionGroup var memory: MemoryLimitOption

    @OptionGroup var inputShape: InputShapeOption

    func validate() throws {
        if json && dot { throw ValidationError("--json and --dot are exclusive") }
    }

    func run() throws {
        try memory.apply()
        MappedFileGuard.watch(model)
        let file: ModelFile?
        let graph: Graph
        let report: InspectionReport
        let shapes = try inputShape.shapes()
        do {
            if ModelFiles.Kind(path: model) == .onnx {
                file = nil
                graph = try ModelFiles.load(model, inputShapes: shapes)
            } else {
                let mapped = try ModelFile(path: model, verifyChecksums: !noChecksums)
                file = mapped
                graph = try ModelFiles.applying(shapes, to: try Graph(file: mapped), path: model)
            }
            report = try InspectionReport(graph: graph, file: file)
        } catch let failure as ModelFiles.Failure {
            throw CLIFailure(failure)
        } catch {
            throw CLIFailure(error)
        }
        if json {
            print(try Format.json(report))
        } else if dot {
            print(DotRenderer.render(graph, report: report))
        } else {
            print(InspectRenderer.render(report), terminator: "")
        }
    }
}

enum InspectRenderer {
    static func shape(_ s: [Int]) -> String { formatShape(s) }

    static func render(_ r: InspectionReport) -> String {
        var out = ""
        // Names, paths and reasons come from the file: control and bidi characters are escaped
        // (displaySafe); only our own colour codes reach the terminal (`styled`).
        func line(_ s: String = "") { out += displaySafe(s) + "\n" }
        func styled(_ s: String) { out += s + "\n" }
        let title =
            r.file.map {
                "\(URL(fileURLWithPath: $0.path).lastPathComponent) — cnnconv format \($0.formatVersion), written by \(r.producer)"
            }
            ?? "\(r.name) — written by \(r.producer)"
        styled(Terminal.bold(displaySafe(title)))
        var facts: [String] = []
        if let f = r.file {
            let storage = f.storage.sorted { $0.key < $1.key }.map {
                f.storage.count == 1 ? $0.key : "\($0.value) \($0.key)"
            }
            facts.append(Format.bytes(f.fileSize))
            facts.append("\(f.tensorCount) tensors (\(storage.joined(separator: ", ")))")
        }
        facts.append("\(grouped(r.parameters)) parameters")
        if let f = r.file { facts.append("checksums \(f.checksums)") }
        facts.append(r.folded ? "folded (\(r.appliedPasses.joined(separator: ", ")))" : "not folded")
        line(facts.joined(separator: " · "))
        line()
        var rows = [["#", "node", "op", "input → output", "params", "MACs", "notes"]]
        for n in r.nodes {
            let input =
                n.inputShapes.count == 1 ? shape(n.inputShapes[0]) : n.inputShapes.map(shape).joined(separator: " + ")
            let output = n.inputShapes.count == 1 && n.inputShapes[0] == n.outputShape ? "same" : shape(n.outputShape)
            rows.append([
                String(n.index), n.name, (n.op + " " + n.attributes).trimmingSpaces,
                "\(input) → \(output)", n.parameters == 0 ? "—" : grouped(n.parameters),
                n.macs == 0 ? "—" : Format.count(n.macs), n.notes.joined(separator: "; "),
            ])
        }
        for (i, row) in Format.table(rows.map { $0.map(displaySafe) }, rightAligned: [0, 4, 5]).enumerated() {
            if i == 0 { styled(Terminal.bold(row)) } else { line(row) }
        }
        line()
        line(
            "\(grouped(r.parameters)) parameters (\(Format.bytes(r.parameterBytes)) as f32) · \(Format.count(r.macs)) MACs per sample"
        )
        line(
            "inputs: " + r.inputs.map { "\($0.name) \($0.shape.joined(separator: "×"))" }.joined(separator: ", ")
                + " · outputs: "
                + r.outputs.map { "\($0.name) \($0.shape.joined(separator: "×"))" }.joined(separator: ", "))
        if !r.batchNorm.isEmpty {
            let producer = r.batchNorm.filter { $0.plan == "producer" }.count
            let consumer = r.batchNorm.filter { $0.plan == "consumer" }.count
            let affine = r.batchNorm.filter { $0.plan == "affine" }
            var parts: [String] = []
            if producer > 0 { parts.append("\(producer) fold into their producer") }
            if consumer > 0 { parts.append("\(consumer) into the layer after") }
            if !affine.isEmpty {
                parts.append(
                    "\(affine.count) become\(affine.count == 1 ? "s" : "") an affine ("
                        + affine.map { "\($0.node): \($0.reason ?? "")" }.joined(separator: "; ") + ")")
            }
            line("BatchNorm \(r.batchNorm.count): " + parts.joined(separator: ", "))
        } else {
            line("BatchNorm 0")
        }
        if !r.dropout.isEmpty {
            let parts = r.dropout.map { d -> String in
                switch d.inference {
                case "removed": return "\(d.node) p=\(trimmed(d.rate)) \(d.convention) (removed)"
                case "affine":
                    return
                        "\(d.node) p=\(trimmed(d.rate)) \(d.convention) (×\(trimmed(d.keep)) as an affine: \(d.reason ?? ""))"
                default:
                    return
                        "\(d.node) p=\(trimmed(d.rate)) \(d.convention) (×\(trimmed(d.keep)) into \(d.target ?? "")\(d.inference == "scale-producer" ? " weights and bias" : "'s weights"))"
                }
            }
            line("Dropout \(r.dropout.count): " + parts.joined(separator: ", "))
        } else {
            line("Dropout 0")
        }
        if let before = r.countsBeforeFolding {
            line(
                "folded: BatchNorm \(before["BatchNorm"] ?? 0)→\(r.opCounts["BatchNorm"] ?? 0) · Dropout \(before["Dropout"] ?? 0)→\(r.opCounts["Dropout"] ?? 0) · affines \(r.opCounts["Affine"] ?? 0)"
            )
        }
        if let n = r.recalibratedSamples {
            styled("BatchNorm statistics recalibrated on \(n) samples (cnnconv recalibrate)")
        }
        for w in r.warnings { styled(Terminal.yellow("warning: ") + displaySafe(w)) }
        return out
    }
}

enum DotRenderer {
    /// A DOT string: each line of `s` made display-safe (a name's ESC or bidi override would
    /// reach the terminal or the SVG), then DOT's escapes; line breaks become label breaks.
    static func quote(_ s: String) -> String {
        let safe = s.split(separator: "\n", omittingEmptySubsequences: false).map { displaySafe(String($0)) }.joined(
            separator: "\n")
        return "\""
            + safe.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func render(_ g: Graph, report: InspectionReport) -> String {
        var lines = ["digraph \(quote(g.name)) {", "  rankdir=TB;", "  node [shape=box, fontname=\"Helvetica\"];"]
        var producer: [String: String] = [:]
        for input in g.inputs {
            let id = "input:" + input.name
            producer[input.name] = id
            lines.append(
                "  \(quote(id)) [shape=ellipse, label=\(quote(input.name + "\n" + input.shape.map(\.description).joined(separator: "×")))];"
            )
        }
        for (node, row) in zip(g.nodes, report.nodes) {
            let label = [node.name, (row.op + " " + row.attributes).trimmingSpaces, formatShape(row.outputShape)]
                .joined(separator: "\n")
            var style = ""
            switch node.op {
            case .batchNorm: style = ", style=filled, fillcolor=\"#fde9c8\""
            case .dropout: style = ", style=filled, fillcolor=\"#e3e3e3\""
            case .conv2d, .convTranspose2d, .linear: style = ", style=filled, fillcolor=\"#d6e6f7\""
            default: break
            }
            lines.append("  \(quote(node.name)) [label=\(quote(label))\(style)];")
            for input in node.inputs {
                if let p = producer[input] { lines.append("  \(quote(p)) -> \(quote(node.name));") }
            }
            for o in node.outputs { producer[o] = node.name }
        }
        for output in g.outputs {
            let id = "output:" + output.name
            lines.append("  \(quote(id)) [shape=ellipse, label=\(quote(output.name))];")
            if let p = producer[output.name] { lines.append("  \(quote(p)) -> \(quote(id));") }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}

extension String {
    var trimmingSpaces: String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
