// Every fixtures/onnx case imported, folded, and still matching onnxruntime's outputs:
// |ours − theirs| ≤ 1e-5·(1 + |theirs|) — folding keeps the ONNX model's answers.
import CNNGraph
import CNNONNX
import CNNPasses
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

@Suite("ONNX oracle after folding")
struct ONNXFoldedOracleTests {
    @Test("folded model matches onnxruntime", arguments: OracleCase.all)
    func folded(_ c: OracleCase) throws {
        let dir = OracleCase.directory
        let (graph, _) = try ONNXImporter.importModel(path: dir + "/" + c.model)
        let folded = try FoldPasses.fold(graph).graph
        #expect(!folded.nodes.contains { $0.op.kindName == "BatchNorm" || $0.op.kindName == "Dropout" }, "\(c.name)")
        var inputs: [String: NDArray<Float>] = [:]
        for i in c.inputs { inputs[i.name] = try NPY.read(dir + "/" + i.file).array(as: Float.self) }
        let result = try Executor<Float>(graph: folded, batch: c.inputs.first?.shape.first ?? 1).run(inputs)
        for o in c.outputs {
            let expected = try NPY.read(dir + "/" + o.file).array(as: Float.self)
            let ours = try #require(result.outputs[o.name], "output \(o.name) missing")
            let m = mismatch(ours.values, expected.values, atol: 1e-5)
            #expect(m == nil, "\(c.name) \(o.name) folded: \(m ?? "")")
        }
    }
}
