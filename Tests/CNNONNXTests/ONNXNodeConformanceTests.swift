// ONNX's own backend node tests (issue #11): fixtures/onnx-node holds the tests of the onnx wheel
// that are in cnnconv's scope, selected by the rule in scripts/select_onnx_node_tests.py (op in
// the domain, float run-time I/O, no training mode, conv/pool at most 2-D spatial) and listed in
// its manifest.json with each input's role. For every test: the model imports with
// ONNXImporter (inputs the manifest calls "constant" — shapes, axes, indices, weights — become
// initializers, as exporters write them), runs in the Executor in Float32 and in Float64 on
// test_data_set_0's inputs, and each output must match onnx's expected one within onnx's own
// tolerance (|ours − expected| ≤ atol + rtol·|expected|, rtol 1e-3, atol 1e-7).
//
// `knownFailures` lists what fails today with why. The suite fails when a test outside the list
// fails (naming it and its first error) and when a listed one passes (remove it from the list).
// The expected values are onnx's (its reference implementation), never our output.
import CNNGraph
import CNNKernels
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

@testable import CNNONNX

struct NodeTestManifest: Decodable {
    struct Tolerance: Decodable { var rtol: Double; var atol: Double }
    struct Value: Decodable, Sendable {
        var name: String; var file: String; var dtype: String; var shape: [Int]
        /// "runtime" (fed to the executor) or "constant" (made an initializer); nil for outputs.
        var role: String?
    }
    struct Entry: Decodable, Sendable, CustomStringConvertible {
        var name: String; var op: String; var opset: Int; var why: String
        var inputs: [Value]; var outputs: [Value]
        var description: String { name }
    }
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // The list's own JSON key (written by scripts/update-node-test-list.sh).
    var onnx_version: String
    var tolerance: Tolerance
    var tests: [Entry]

    static let directory = Repository.fixture("onnx-node")
    static func load() throws -> NodeTestManifest {
        try JSONDecoder().decode(
            NodeTestManifest.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json")))
    }
}

/// Runs one node test; nil when every output matches in Float32 and Float64, else the first error.
struct NodeTestRunner {
    var tolerance: NodeTestManifest.Tolerance

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) {
            // The importer's unsupported-op message lists every supported op: keep the first words.
            let short = d.components(separatedBy: "; supported ops:")[0].replacingOccurrences(of: "\n", with: " ")
            description = short.count > 240 ? String(short.prefix(240)) + "…" : short
        }
    }

    func tensor(_ folder: String, _ v: NodeTestManifest.Value) throws -> (Onnx_TensorProto, ConstTensor) {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + v.file))
        let proto = try Onnx_TensorProto(serializedBytes: data)
        do {
            return (proto, try TensorDecoder.decode(proto, externalData: nil, nameOverride: v.name))
        } catch {
            throw Failure("reading \(v.file): \(error)")
        }
    }

    /// The test's model with its "constant" inputs made initializers, imported.
    func importGraph(_ t: NodeTestManifest.Entry, folder: String) throws -> Graph {
        var model = try Onnx_ModelProto(
            serializedBytes: try Data(contentsOf: URL(fileURLWithPath: folder + "/model.onnx")))
        let constants = t.inputs.filter { $0.role == "constant" }
        for c in constants {
            var (proto, _) = try tensor(folder, c)
            proto.name = c.name
            model.graph.initializer.append(proto)
        }
        let names = Set(constants.map(\.name))
        model.graph.input.removeAll { names.contains($0.name) }
        do {
            let shapes = Dictionary(
                t.inputs.filter { $0.role == "runtime" }.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
            return try ONNXImporter.importModel(
                data: try model.serializedBytes(), source: t.name, baseDirectory: folder,
                inputShapes: shapes
            ).0
        } catch {
            throw Failure("import: \(error)")
        }
    }

    func run<S: KernelScalar>(_ graph: Graph, _ t: NodeTestManifest.Entry, folder: String, as _: S.Type) throws {
        let label = S.self == Float.self ? "Float32" : "Float64"
        var feeds: [String: NDArray<S>] = [:]
        for v in t.inputs where v.role == "runtime" {
            let c = try tensor(folder, v).1
            feeds[v.name] = NDArray(shape: c.shape, values: c.floats.map { S(Double($0)) })
        }
        let batch = t.inputs.first { $0.role == "runtime" }?.shape.first ?? 1
        let outputs: [String: NDArray<S>]
        do {
            outputs = try Executor<S>(graph: graph, batch: max(batch, 1)).run(feeds).outputs
        } catch {
            throw Failure("\(label) run: \(error)")
        }
        for v in t.outputs {
            let expected = try tensor(folder, v).1
            guard let ours = outputs[v.name] else {
                throw Failure("\(label): no output '\(v.name)' (outputs: \(outputs.keys.sorted()))")
            }
            guard ours.shape == expected.shape else {
                throw Failure("\(label): output '\(v.name)' has shape \(ours.shape), expected \(expected.shape)")
            }
            for (i, (a, b)) in zip(ours.values.map { Double($0) }, expected.doubles).enumerated() {
                let ok =
                    (a.isNaN && b.isNaN) || a == b || (a - b).magnitude <= tolerance.atol + tolerance.rtol * b.magnitude
                if !ok {
                    throw Failure("\(label): output '\(v.name)' element \(i): \(a), expected \(b)")
                }
            }
        }
    }

    /// nil when the test passes, else its first error.
    func check(_ t: NodeTestManifest.Entry) -> String? {
        let folder = NodeTestManifest.directory + "/" + t.name
        do {
            let graph = try importGraph(t, folder: folder)
            try run(graph, t, folder: folder, as: Float.self)
            try run(graph, t, folder: folder, as: Double.self)
            return nil
        } catch {
            return String(describing: error)
        }
    }
}

@Suite("ONNX backend node tests in scope (fixtures/onnx-node)")
struct ONNXNodeConformanceTests {
    /// Tests that fail today, with why (the first error, shortened). Keep it true: a listed test
    /// that passes fails the suite until it is removed from here. Regenerate with
    /// `CNNCONV_NODE_TEST_LIST=1 swift test --skip-build --filter ONNXNodeConformanceTests | grep '^KNOWN-FAILURE' | cut -c14-`.
    /// (Listed 2026-11-29, before issue #11's tensor ops: 135 of 452 pass; 440 with Resize's
    /// modes and 1-D conv/pool. What is left are empty tensors, refused at import by input or node.)
    static let knownFailures: [String: String] = [
        "test_castlike_DOUBLE_to_FLOAT_expanded":
            "import: --input-shape 0 for input 'like': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_castlike_FLOAT_to_DOUBLE_expanded":
            "import: --input-shape 0 for input 'like': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reduce_l2_empty_set":
            "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reduce_l2_empty_set_expanded":
            "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reduce_max_empty_set":
            "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reduce_min_empty_set":
            "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reduce_sum_empty_set":
            "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reduce_sum_empty_set_non_reduced_axis_zero":
            "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_reshape_allowzero_reordered":
            "import: --input-shape 0,3,4 for input 'data': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_slice_start_out_of_bounds":
            "import: node 'Slice_0' (Slice): Slice: axis 1 of 20×10×5 sliced 1000:1000:1 is empty",
        "test_split_zero_size_splits_opset13":
            "import: --input-shape 0 for input 'input': every dimension must be ≥ 1 (empty tensors are not supported)",
        "test_split_zero_size_splits_opset18":
            "import: --input-shape 0 for input 'input': every dimension must be ≥ 1 (empty tensors are not supported)",
    ]

    @Test("every in-scope node test passes, or fails and is listed in knownFailures")
    func conformance() throws {
        let manifest = try NodeTestManifest.load()
        #expect(manifest.tests.count > 400, "manifest lists \(manifest.tests.count) tests")
        let runner = NodeTestRunner(tolerance: manifest.tolerance)
        var passed = 0
        var failures: [(String, String)] = []
        for t in manifest.tests {
            if let error = runner.check(t) { failures.append((t.name, error)) } else { passed += 1 }
        }
        print("\(passed) of \(manifest.tests.count) in-scope ONNX node tests pass")
        // CNNCONV_NODE_TEST_LIST=1 prints today's failures as `knownFailures` entries, to paste.
        if ProcessInfo.processInfo.environment["CNNCONV_NODE_TEST_LIST"] != nil {
            for (name, error) in failures {
                let reason = error.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                    of: "\"", with: "\\\"")
                print("KNOWN-FAILURE        \"\(name)\": \"\(reason)\",")
            }
        }
        for (name, error) in failures where Self.knownFailures[name] == nil {
            Issue.record("\(name) fails: \(error)")
        }
        let failed = Set(failures.map(\.0))
        for name in Self.knownFailures.keys.sorted() where !failed.contains(name) {
            Issue.record("\(name) is listed in knownFailures but passes now: remove it from the list")
        }
        let names = Set(manifest.tests.map(\.name))
        let stale = Self.knownFailures.keys.filter { !names.contains($0) }.sorted()
        #expect(stale.isEmpty, "knownFailures names tests not in the manifest: \(stale)")
    }

    @Test("the comparison catches a wrong output: test_relu checked against its own input fails")
    func comparisonCanFail() throws {
        let manifest = try NodeTestManifest.load()
        var relu = try #require(manifest.tests.first { $0.name == "test_relu" })
        let runner = NodeTestRunner(tolerance: manifest.tolerance)
        #expect(runner.check(relu) == nil, "test_relu passes as given")
        relu.outputs[0].file = relu.inputs[0].file  // the input has negative values, relu's output none
        let error = try #require(runner.check(relu), "test_relu against its input must fail")
        #expect(error.contains("Float32: output 'y' element"), "\(error)")
    }

    @Test("the fixture folders are exactly the manifest's tests")
    func foldersMatchManifest() throws {
        let manifest = try NodeTestManifest.load()
        let folders = try FileManager.default.contentsOfDirectory(atPath: NodeTestManifest.directory).filter {
            $0.hasPrefix("test_")
        }
        #expect(Set(folders) == Set(manifest.tests.map(\.name)))
        #expect(manifest.tolerance.rtol == 1e-3 && manifest.tolerance.atol == 1e-7)
    }
}
