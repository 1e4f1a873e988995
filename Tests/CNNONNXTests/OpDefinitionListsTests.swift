// The lists of op names kept elsewhere, checked against the op definitions
// (Sources/CNNGraph/Ops, `Op.definitionTypes`): the schema's `Node.op` fields, the importer's
// supported ONNX types, what the exporter writes, inspect's names; and schema/op-kinds.md,
// generated from the definitions. Regenerate the table with
//   CNNCONV_REGENERATE_DOCS=1 swift test --filter OpDefinitionListsTests
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@testable import CNNONNX

@Suite struct OpDefinitionListsTests {
    static let types = Op.definitionTypes
    /// The classic ops' definitions (the tensor op's kinds have their own table and checks).
    static let classic = types.filter { $0 != TensorOp.self }
    static let tablePath = "schema/op-kinds.md"

    /// The field names of `oneof op` in schema/cnnmodel.proto, read from the schema's text.
    static func schemaOpFields() throws -> [String] {
        let text = try String(contentsOfFile: Repository.root + "/schema/cnnmodel.proto", encoding: .utf8)
        guard let start = text.range(of: "oneof op {"),
            let end = text.range(of: "}", range: start.upperBound..<text.endIndex)
        else { return [] }
        return text[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return words.count >= 4 && words[2] == "=" ? String(words[1]) : nil
        }
    }

    /// Every repository fixture model's graph (fixtures/*.cnnm, every_op.cnnm holds every kind).
    static func fixtureGraphs() throws -> [(String, Graph)] {
        let dir = Repository.fixture("")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".cnnm") }.sorted()
        return try names.map { ($0, try Graph(contentsOf: dir + "/" + $0)) }
    }

    @Test func everyStoredOpFieldBelongsToExactlyOneDefinition() throws {
        let schema = try Self.schemaOpFields()
        #expect(schema.count >= 29, "could not read Node.op from the schema: \(schema)")
        let claimed = Self.types.flatMap { $0.formatFields }
        #expect(Set(claimed).count == claimed.count, "a field is claimed twice: \(claimed.sorted())")
        let unclaimed = Set(schema).subtracting(claimed).sorted(), unknown = Set(claimed).subtracting(schema).sorted()
        #expect(
            unclaimed.isEmpty && unknown.isEmpty,
            "schema fields without a definition: \(unclaimed); definitions naming no schema field: \(unknown)")
    }

    @Test func classicKindNamesAreUniqueAndEveryDefinitionHasASummary() {
        let names = Self.classic.flatMap { $0.kindNames }
        #expect(Set(names).count == names.count, "a kind name is used by two definitions: \(names.sorted())")
        for t in Self.types {
            #expect(!t.summary.isEmpty, "\(t) has no summary")
            #expect(!t.kindNames.isEmpty, "\(t) lists no kind names")
        }
    }

    @Test func theImporterSupportsEveryTypeADefinitionImportsOrExports() {
        let supported = Set(ONNXImporter.supportedOps)
        for t in Self.types {
            for o in t.onnxImportTypes { #expect(supported.contains(o), "\(t) imports \(o), which supportedOps lacks") }
            for o in t.onnxExportTypes {
                #expect(supported.contains(o), "\(t) exports \(o), which the importer cannot read back")
            }
        }
    }

    /// The ONNX types in `supportedOps` that no definition imports are the ones the importer
    /// turns into intermediate forms that its rewrites fold away (ImportRewrites.swift) or
    /// constant-folds (ConstantFolding.swift).
    @Test func everySupportedTypeIsADefinitionsOrARewrites() {
        let rewritten: Set<String> = [
            "Sub", "Div", "Pad", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Shape", "Size",
        ]
        let claimed = Set(Self.types.flatMap { $0.onnxImportTypes }).union(ConstantFolder.foldable).union(rewritten)
        let unclaimed = Set(ONNXImporter.supportedOps).subtracting(claimed)
        #expect(unclaimed.isEmpty, "supportedOps lists types no definition imports: \(unclaimed.sorted())")
    }

    /// Each fixture node, exported alone, writes only ONNX types its definition lists; its name
    /// in reports is one of the definition's names; and the fixtures hold every classic kind.
    @Test func fixtureNodesExportAndAreNamedAsTheirDefinitionsSay() throws {
        var covered = Set<ObjectIdentifier>()
        for (file, graph) in try Self.fixtureGraphs() {
            let shapes = try graph.inferShapes(batch: 1)
            for node in graph.nodes {
                let d = node.op.definition
                let kind = type(of: d)
                covered.insert(ObjectIdentifier(kind))
                if kind != TensorOp.self {
                    #expect(
                        kind.kindNames.contains(node.op.kindName),
                        "\(file) \(node.name): '\(node.op.kindName)' is not in \(kind).kindNames")
                }
                #expect(
                    type(of: d.op.definition) == kind,
                    "\(file) \(node.name): the definition's op has another definition")
                var writer = ExportWriter(graph: graph, shapes: shapes)
                try writer.add(node)
                #expect(
                    writer.nodes.last?.name == node.name,
                    "\(file) \(node.name): the last exported node must carry the node's name")
                if kind != TensorOp.self {
                    for n in writer.nodes {
                        #expect(
                            kind.onnxExportTypes.contains(n.opType),
                            "\(file) \(node.name) exports \(n.opType), not in \(kind).onnxExportTypes")
                    }
                }
            }
        }
        let missing = Self.classic.filter { !covered.contains(ObjectIdentifier($0)) }
        #expect(missing.isEmpty, "no fixture has a node of \(missing)")
    }

    /// `parameters` and `mapParameters` must name the same tensors: storage conversion maps what
    /// the second reaches, validation and the format read what the first lists, so a tensor one
    /// of them forgets would silently keep its old storage or go unchecked.
    @Test func everyListedParameterIsMappedAndNothingElse() throws {
        var checked = 0
        for (file, graph) in try Self.fixtureGraphs() {
            for node in graph.nodes {
                var op = node.op
                var seen: [String] = []
                op.mapParameters { t in
                    seen.append(t.name)
                    var renamed = t
                    renamed.name = t.name + "#mapped"
                    return renamed
                }
                let listed = node.op.parameters.map(\.tensor.name)
                #expect(
                    seen == listed, "\(file) \(node.name): mapParameters visits \(seen), parameters lists \(listed)")
                #expect(
                    op.parameters.map(\.tensor.name) == listed.map { $0 + "#mapped" },
                    "\(file) \(node.name): a mapped tensor was not stored back")
                #expect(op.kindName == node.op.kindName)
                checked += listed.count
            }
        }
        #expect(checked > 50, "the fixtures hold only \(checked) parameters")
    }

    /// The names the CLI and the fold report look up in `InspectionReport.opCounts`.
    @Test func theNamesReportsCountAreKindNames() {
        #expect(BatchNorm.kindNames.contains("BatchNorm"))
        #expect(Dropout.kindNames.contains("Dropout"))
        #expect(Affine.kindNames.contains("Affine"))
    }

    /// The table: one row per classic definition in `Op.definitionTypes` order.
    static func render() -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        func list(_ v: [String]) -> String { v.isEmpty ? "—" : v.map(cell).joined(separator: ", ") }
        var lines = [
            "# Op kinds",
            "",
            "<!-- Generated from Op.definitionTypes (Sources/CNNGraph/Ops) by Tests/CNNONNXTests/OpDefinitionListsTests.swift;",
            "     do not edit. Regenerate: CNNCONV_REGENERATE_DOCS=1 swift test --filter OpDefinitionListsTests -->",
            "",
            "The ops a `Node.op` field stores (FORMAT.md; cnnmodel.proto has their attributes). `tensor_op` holds a",
            "general tensor op, whose kinds are in [tensor-op-kinds.md](tensor-op-kinds.md).",
            "",
            "| `Node.op` fields | names in reports | ONNX import | ONNX export | computes |",
            "|---|---|---|---|---|",
        ]
        for t in classic {
            lines.append(
                "| \(t.formatFields.map { "`\($0)`" }.joined(separator: ", ")) | \(list(t.kindNames)) | \(list(t.onnxImportTypes)) | "
                    + "\(list(t.onnxExportTypes)) | \(cell(t.summary)) |")
        }
        lines.append("")
        lines.append("Definitions: \(classic.count) (and the tensor op).")
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func theCommittedTableIsTheDefinitions() throws {
        let wanted = Self.render()
        let committed = try GeneratedDocs.committed(Self.tablePath, wanted: wanted)
        #expect(
            committed == wanted,
            "schema/op-kinds.md differs from Op.definitionTypes: run CNNCONV_REGENERATE_DOCS=1 swift test --filter OpDefinitionListsTests"
        )
    }
}
