// Every fixtures/tensor-ops/<group>/ case (one ONNX model per tensor op and attribute
// combination, written by scripts/make_tensor_op_fixtures.py with onnxruntime's outputs):
// imported, run in Float32 and Float64, written to .cnnm and read back, folded, exported to ONNX
// and imported again — each matching onnxruntime within tolerance·(1 + |theirs|).
import CNNGraph
import CNNKernels
import CNNONNX
import CNNPasses
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

struct TensorOpCase: Decodable, Sendable, CustomStringConvertible {
    struct Entry: Decodable, Sendable { var name: String; var shape: [Int]; var file: String }
    var name: String
    var group: String = ""
    var model: String
    var inputs: [Entry]
    var outputs: [Entry]
    /// Float32 tolerance (default 1e-5); Float64 uses the same (onnxruntime computed in f32).
    var tolerance: Double?
    /// Set when the model has no ONNX export: a phrase the exporter's refusal must contain.
    var exportRefused: String?
    var description: String { "\(group)/\(name)" }
    var directory: String { Self.root + "/" + group }

    enum CodingKeys: String, CodingKey {
        case name, model, inputs, outputs, tolerance
        case exportRefused = "export_refused"
    }

    static let root = Repository.fixture("tensor-ops")
    static let all: [TensorOpCase] = {
        struct Manifest: Decodable { var cases: [TensorOpCase] }
        let groups = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        return groups.flatMap { group -> [TensorOpCase] in
            let url = URL(fileURLWithPath: root + "/" + group + "/manifest.json")
            guard let m = try? JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url)) else { return [] }
            return m.cases.map {
                var c = $0; c.group = group; return c
            }
        }
    }()

    func inputs<S: KernelScalar>(_: S.Type) throws -> [String: NDArray<S>] {
        var out: [String: NDArray<S>] = [:]
        for i in inputs { out[i.name] = try NPY.read(directory + "/" + i.file).array(as: S.self) }
        return out
    }

    /// Runs `graph` and compares every output with onnxruntime's.
    func check<S: KernelScalar>(_ graph: Graph, _: S.Type, _ stage: String) throws {
        let batch = inputs.first?.shape.first ?? 1
        let result = try Executor<S>(graph: graph, batch: batch).run(try inputs(S.self))
        for o in outputs {
            let expected = try NPY.read(directory + "/" + o.file).array(as: Float.self)
            let ours = try #require(result.outputs[o.name], "\(self) \(stage): output \(o.name) missing")
            #expect(
                ours.shape == expected.shape, "\(self) \(stage) \(o.name): shape \(ours.shape) vs \(expected.shape)")
            let m = mismatch(ours.values, expected.values, atol: tolerance ?? 1e-5)
            #expect(m == nil, "\(self) \(stage) \(o.name): \(m ?? "")")
        }
    }
}

@Suite("Tensor ops against onnxruntime")
struct TensorOpOracleTests {
    @Test func casesExist() {
        #expect(TensorOpCase.all.count > 0, "no fixtures under \(TensorOpCase.root)")
    }

    @Test("import, run f32/f64, file round trip, fold, export", arguments: TensorOpCase.all)
    func oracle(_ c: TensorOpCase) throws {
        let (graph, _) = try ONNXImporter.importModel(path: c.directory + "/" + c.model)
        try c.check(graph, Float.self, "f32")
        try c.check(graph, Double.self, "f64")
        let reread = try Graph(bytes: try graph.serialized())
        #expect(reread == graph, "\(c): the .cnnm round trip changed the graph")
        let folded = try FoldPasses.fold(graph).graph
        try c.check(folded, Float.self, "folded")
        if let refusal = c.exportRefused {
            #expect { _ = try ONNXExporter.export(graph) } throws: { "\($0)".contains(refusal) }
            return
        }
        let exported = try ONNXImporter.importModel(data: try ONNXExporter.export(graph), source: "\(c) export").0
        try c.check(exported, Float.self, "exported")
    }

    @Test("every registered kind has a fixture")
    func everyKindCovered() throws {
        var seen = Set<String>()
        for c in TensorOpCase.all {
            let (graph, _) = try ONNXImporter.importModel(path: c.directory + "/" + c.model)
            for n in graph.nodes { if case .tensor(let t) = n.op { seen.insert(t.kind) } }
        }
        let missing = TensorOps.all.map(\.name).filter { !seen.contains($0) }
        #expect(missing.isEmpty, "tensor-op kinds without an onnxruntime fixture: \(missing)")
    }
}
