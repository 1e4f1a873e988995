// schema/tensor-op-kinds.md is generated from the registry (TensorOps.all): this test renders it
// and fails when the committed file differs. Regenerate with
//   CNNCONV_REGENERATE_DOCS=1 swift test --filter TensorOpKindsTableTests
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct TensorOpKindsTableTests {
    static let path = "schema/tensor-op-kinds.md"

    /// The table: one row per kind in registry order (kind, the ONNX op types it imports, its summary).
    static func render() -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var lines = [
            "# Tensor-op kinds",
            "",
            "<!-- Generated from TensorOps.all (Sources/CNNGraph/TensorOps) by Tests/CNNGraphTests/TensorOpKindsTableTests.swift;",
            "     do not edit. Regenerate: CNNCONV_REGENERATE_DOCS=1 swift test --filter TensorOpKindsTableTests -->",
            "",
            "The kinds a `TensorOp` node may name (FORMAT.md, \"Tensor ops\"). A reader refuses any other kind.",
            "Attributes are described in each kind's definition file under Sources/CNNGraph/TensorOps/.",
            "",
            "| kind | ONNX op types | computes |",
            "|---|---|---|",
        ]
        for d in TensorOps.all {
            lines.append(
                "| `\(cell(d.name))` | \(d.onnxTypes.map(cell).joined(separator: ", ")) | \(cell(d.summary)) |")
        }
        lines.append("")
        lines.append("Kinds registered: \(TensorOps.all.count).")
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func theCommittedTableIsTheRegistrys() throws {
        let wanted = Self.render()
        let committed = try GeneratedDocs.committed(Self.path, wanted: wanted)
        #expect(
            committed == wanted,
            "schema/tensor-op-kinds.md differs from TensorOps.all: run CNNCONV_REGENERATE_DOCS=1 swift test --filter TensorOpKindsTableTests"
        )
    }

    @Test func everyKindHasANameASummaryAndOneRow() {
        let names = TensorOps.all.map(\.name)
        #expect(Set(names).count == names.count, "a kind is registered twice: \(names)")
        for d in TensorOps.all {
            #expect(!d.summary.isEmpty, "\(d.name) has no summary")
            #expect(Self.render().contains("| `\(d.name)` |"))
        }
    }
}
