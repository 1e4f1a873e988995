// Resize's ONNX export: every Resize node test of fixtures/onnx-node (cubic, antialias,
// exclude_outside, half_pixel_symmetric, tf_crop_and_resize with its roi, keep_aspect_ratio_policy,
// axes) imports, exports, re-imports from the exported bytes and still matches onnx's expected
// output in Float32 and Float64 — so the exported attributes, roi/scales/sizes inputs and opset
// say what the imported graph computes. The expected values are onnx's, never our output.
import CNNGraph
import CNNONNX
import Foundation
import Testing

@Suite("Resize exports and re-imports to the same results (fixtures/onnx-node)")
struct ResizeExportTests {
    @Test("every Resize node test survives export → import")
    func exportRoundTrip() throws {
        let manifest = try NodeTestManifest.load()
        let runner = NodeTestRunner(tolerance: manifest.tolerance)
        let resizes = manifest.tests.filter { $0.op == "Resize" }
        #expect(resizes.count == 39, "manifest lists \(resizes.count) Resize tests")
        var opsets: Set<Int> = []
        for t in resizes {
            let folder = NodeTestManifest.directory + "/" + t.name
            let graph = try runner.importGraph(t, folder: folder)
            let proto = try ONNXExporter.exportModel(graph)
            opsets.insert(Int(proto.opsetImport.first { $0.domain.isEmpty }?.version ?? 0))
            let (again, _) = try ONNXImporter.importModel(
                data: try proto.serializedBytes(), source: "\(t.name) (exported)",
                inputShapes: Dictionary(
                    t.inputs.filter { $0.role == "runtime" }.map { ($0.name, $0.shape) },
                    uniquingKeysWith: { a, _ in a }))
            do {
                try runner.run(again, t, folder: folder, as: Float.self)
                try runner.run(again, t, folder: folder, as: Double.self)
            } catch {
                Issue.record("\(t.name) after export: \(error)")
            }
        }
        // antialias and keep_aspect_ratio_policy need opset 18, half_pixel_symmetric 19.
        #expect(opsets == [17, 18, 19], "\(opsets.sorted())")
    }
}
