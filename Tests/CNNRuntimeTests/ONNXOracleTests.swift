// Against an outside oracle: every fixtures/onnx case (one ONNX model per op and attribute
// combination, and four small networks) imported, run by the executor, and compared with the
// outputs onnxruntime 1.23.2 computed for it: |ours − theirs| ≤ 1e-5·(1 + |theirs|).
import CNNGraph
import CNNKernels
import CNNONNX
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

struct OracleCase: Decodable, Sendable, CustomStringConvertible {
    struct Entry: Decodable, Sendable { var name: String; var shape: [Int]; var file: String }
    var name: String
    var model: String
    var inputs: [Entry]
    var outputs: [Entry]
    var description: String { name }

    static let directory = Repository.fixture("onnx")
    static let all: [OracleCase] = {
        struct Manifest: Decodable { var cases: [OracleCase] }
        let url = URL(fileURLWithPath: directory + "/manifest.json")
        return (try? JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url)).cases) ?? []
    }()
}

@Suite("ONNX oracle (onnxruntime outputs)")
struct ONNXOracleTests {
    @Test func manifestHasEveryCase() {
        #expect(OracleCase.all.count == 82)
    }

    @Test("Float32 matches onnxruntime", arguments: OracleCase.all)
    func float32(_ c: OracleCase) throws { try check(c, Float.self) }

    @Test("Float64 matches onnxruntime", arguments: OracleCase.all)
    func float64(_ c: OracleCase) throws { try check(c, Double.self) }

    func check<S: KernelScalar>(_ c: OracleCase, _: S.Type) throws {
        let dir = OracleCase.directory
        let (graph, _) = try ONNXImporter.importModel(path: dir + "/" + c.model)
        var inputs: [String: NDArray<S>] = [:]
        for i in c.inputs { inputs[i.name] = try NPY.read(dir + "/" + i.file).array(as: S.self) }
        let batch = c.inputs.first?.shape.first ?? 1
        let executor = try Executor<S>(graph: graph, batch: batch)
        let result = try executor.run(inputs)
        for o in c.outputs {
            let expected = try NPY.read(dir + "/" + o.file).array(as: Float.self)
            let ours = try #require(result.outputs[o.name], "output \(o.name) missing")
            #expect(ours.shape == expected.shape, "\(c.name) \(o.name): shape")
            let m = mismatch(ours.values, expected.values, atol: 1e-5)
            #expect(m == nil, "\(c.name) \(o.name): \(m ?? "")")
        }
    }
}
