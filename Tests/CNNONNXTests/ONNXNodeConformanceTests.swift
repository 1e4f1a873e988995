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
@testable import CNNONNX
import CNNRuntime
import CNNTestSupport
import Foundation
import Testing

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
    var onnx_version: String
    var tolerance: Tolerance
    var tests: [Entry]

    static let directory = Repository.fixture("onnx-node")
    static func load() throws -> NodeTestManifest {
        try JSONDecoder().decode(NodeTestManifest.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json")))
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
        var model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: folder + "/model.onnx")))
        let constants = t.inputs.filter { $0.role == "constant" }
        for c in constants {
            var (proto, _) = try tensor(folder, c)
            proto.name = c.name
            model.graph.initializer.append(proto)
        }
        let names = Set(constants.map(\.name))
        model.graph.input.removeAll { names.contains($0.name) }
        do {
            let shapes = Dictionary(t.inputs.filter { $0.role == "runtime" }.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
            return try ONNXImporter.importModel(data: try model.serializedBytes(), source: t.name, baseDirectory: folder,
                                                inputShapes: shapes).0
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
            guard let ours = outputs[v.name] else { throw Failure("\(label): no output '\(v.name)' (outputs: \(outputs.keys.sorted()))") }
            guard ours.shape == expected.shape else {
                throw Failure("\(label): output '\(v.name)' has shape \(ours.shape), expected \(expected.shape)")
            }
            for (i, (a, b)) in zip(ours.values.map { Double($0) }, expected.doubles).enumerated() {
                let ok = (a.isNaN && b.isNaN) || a == b || (a - b).magnitude <= tolerance.atol + tolerance.rtol * b.magnitude
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
    /// (Listed 2026-11-29, before issue #11's tensor ops: 135 of 452 pass.)
    static let knownFailures: [String: String] = [
        "test_abs": "import: node 'Abs_0' (Abs): Abs is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_add_bcast": "import: node 'Add_0' (Add): adding 3×4×5 and 5 needs broadcasting; only same-shaped run-time inputs are supported",
        "test_averagepool_1d_default": "import: node 'AveragePool_0' (AveragePool): only 2-D AveragePool on NCHW input is supported; the input is 1×3×32",
        "test_cast_DOUBLE_to_FLOAT": "import: test_cast_DOUBLE_to_FLOAT: not a usable ONNX model: input 'input' has element type double; only float32 inputs are supported",
        "test_cast_FLOAT_to_DOUBLE": "import: node 'Cast_0' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'input' is computed at run time",
        "test_castlike_DOUBLE_to_FLOAT_expanded": "import: test_castlike_DOUBLE_to_FLOAT_expanded: not a usable ONNX model: input 'input' has element type double; only float32 inputs are supported",
        "test_castlike_FLOAT_to_DOUBLE_expanded": "import: test_castlike_FLOAT_to_DOUBLE_expanded: not a usable ONNX model: input 'like' has element type double; only float32 inputs are supported",
        "test_clip_min_greater_than_max": "import: node 'Clip_0' (Clip): min 2.0 is above max 1.0",
        "test_convtranspose_1d": "import: node 'ConvTranspose_0' (ConvTranspose): only 2-D ConvTranspose on NCHW input is supported; the input is 1×1×3",
        "test_convtranspose_output_shape": "import: node 'ConvTranspose_0' (ConvTranspose): attribute 'output_shape' [10, 8] needs negative padding",
        "test_div": "import: node 'Div_0' (Div): Div of two run-time values is not supported (only by a constant)",
        "test_div_bcast": "import: node 'Div_0' (Div): Div of two run-time values is not supported (only by a constant)",
        "test_div_example": "import: node 'Div_0' (Div): Div of two run-time values is not supported (only by a constant)",
        "test_elu": "import: node 'Elu_0': op Elu is not supported",
        "test_elu_default": "import: node 'Elu_0': op Elu is not supported",
        "test_elu_example": "import: node 'Elu_0': op Elu is not supported",
        "test_erf": "import: node 'Erf_0': op Erf is not supported",
        "test_exp": "import: node 'Exp_0': op Exp is not supported",
        "test_exp_example": "import: node 'Exp_0': op Exp is not supported",
        "test_gelu_default_1": "import: node 'Gelu_0': op Gelu is not supported",
        "test_gelu_default_1_expanded": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_gelu_default_2": "import: node 'Gelu_0': op Gelu is not supported",
        "test_gelu_default_2_expanded": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_gelu_tanh_1": "import: node 'Gelu_0': op Gelu is not supported",
        "test_gelu_tanh_1_expanded": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_gelu_tanh_2": "import: node 'Gelu_0': op Gelu is not supported",
        "test_gelu_tanh_2_expanded": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_gemm_all_attributes": "import: node 'Gemm_0' (Gemm): attribute 'transA' is 1; only an untransposed run-time input A is supported",
        "test_gemm_default_matrix_bias": "import: node 'Gemm_0' (Gemm): C has shape 3×4; only a bias broadcast over the batch ([4], [1, 4] or a scalar) is supported",
        "test_gemm_transposeA": "import: node 'Gemm_0' (Gemm): attribute 'transA' is 1; only an untransposed run-time input A is supported",
        "test_group_normalization_epsilon_expanded": "import: node 'Cast_2' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_group_normalization_example_expanded": "import: node 'Cast_2' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_hardsigmoid_default_expanded_ver18": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_hardsigmoid_example_expanded_ver18": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_hardsigmoid_expanded_ver18": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_layer_normalization_2d_axis0": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_2d_axis0_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis0_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis0_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis0_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis1": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_2d_axis1_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis1_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis_negative_1": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_2d_axis_negative_1_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis_negative_1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis_negative_1_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis_negative_1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis_negative_2": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_2d_axis_negative_2_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis_negative_2_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_2d_axis_negative_2_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_2d_axis_negative_2_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis0_epsilon": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_3d_axis0_epsilon_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis0_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis0_epsilon_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis0_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis1_epsilon": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_3d_axis1_epsilon_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis1_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis1_epsilon_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis1_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis2_epsilon": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_3d_axis2_epsilon_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis2_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis2_epsilon_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis2_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis_negative_1_epsilon": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_3d_axis_negative_1_epsilon_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis_negative_1_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis_negative_1_epsilon_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis_negative_1_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis_negative_2_epsilon": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_3d_axis_negative_2_epsilon_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis_negative_2_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis_negative_2_epsilon_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis_negative_2_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis_negative_3_epsilon": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_3d_axis_negative_3_epsilon_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis_negative_3_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_3d_axis_negative_3_epsilon_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_3d_axis_negative_3_epsilon_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis0": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis0_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis0_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis0_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis0_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis1": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis1_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis1_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis2": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis2_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis2_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis2_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis2_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis3": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis3_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis3_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis3_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis3_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_1": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis_negative_1_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_1_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_1_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_2": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis_negative_2_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_2_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_2_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_2_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_3": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis_negative_3_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_3_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_3_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_3_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_4": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_4d_axis_negative_4_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_4_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_4d_axis_negative_4_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_4d_axis_negative_4_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_default_axis": "import: node 'LayerNormalization_0' (LayerNormalization): output 'Mean' (mean and inverse standard deviation) is used; cnnconv imports inference graphs only",
        "test_layer_normalization_default_axis_expanded": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_default_axis_expanded_function_X2D' is computed at run time",
        "test_layer_normalization_default_axis_expanded_ver18": "import: node 'Cast_11' (Cast): Cast is supported only on values known at import (shape arithmetic); input 'LayerNormalization_test_layer_normalization_default_axis_expanded_function_X2D' is computed at run time",
        "test_log": "import: node 'Log_0': op Log is not supported",
        "test_log_example": "import: node 'Log_0': op Log is not supported",
        "test_logsoftmax_axis_0": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_axis_0_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_axis_0_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_axis_1": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_axis_1_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_axis_1_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_axis_2": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_axis_2_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_axis_2_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_default_axis": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_default_axis_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_default_axis_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_example_1": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_example_1_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_example_1_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_large_number": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_large_number_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_large_number_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_negative_axis": "import: node 'LogSoftmax_0': op LogSoftmax is not supported",
        "test_logsoftmax_negative_axis_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_logsoftmax_negative_axis_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_matmul_2d": "import: node 'MatMul_0' (MatMul): the weight 'b' is computed at run time; only constant weights (initializers or constant sub-graphs) are supported",
        "test_matmul_3d": "import: node 'MatMul_0' (MatMul): the weight 'b' is computed at run time; only constant weights (initializers or constant sub-graphs) are supported",
        "test_matmul_4d": "import: node 'MatMul_0' (MatMul): the weight 'b' is computed at run time; only constant weights (initializers or constant sub-graphs) are supported",
        "test_max_example": "import: node 'Max_0' (Max): Max is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_max_float32": "import: node 'Max_0' (Max): Max is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_max_float64": "import: test_max_float64: not a usable ONNX model: input 'data_0' has element type double; only float32 inputs are supported",
        "test_max_one_input": "import: node 'Max_0' (Max): Max is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_max_two_inputs": "import: node 'Max_0' (Max): Max is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_maxpool_1d_default": "import: node 'MaxPool_0' (MaxPool): only 2-D MaxPool on NCHW input is supported; the input is 1×3×32",
        "test_mean_example": "import: node 'Mean_0': op Mean is not supported",
        "test_mean_one_input": "import: node 'Mean_0': op Mean is not supported",
        "test_mean_two_inputs": "import: node 'Mean_0': op Mean is not supported",
        "test_min_example": "import: node 'Min_0' (Min): Min is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_min_float32": "import: node 'Min_0' (Min): Min is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_min_float64": "import: test_min_float64: not a usable ONNX model: input 'data_0' has element type double; only float32 inputs are supported",
        "test_min_one_input": "import: node 'Min_0' (Min): Min is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_min_two_inputs": "import: node 'Min_0' (Min): Min is supported only on values known at import (shape arithmetic); input 'data_0' is computed at run time",
        "test_mish": "import: node 'Mish_0': op Mish is not supported",
        "test_mish_expanded": "import: node 'Softplus_0': op Softplus is not supported",
        "test_mul_bcast": "import: node 'Mul_0' (Mul): multiplying 3×4×5 by 5 is not supported; only same shapes or a per-channel [N, C, 1, 1] factor are",
        "test_neg": "import: node 'Neg_0' (Neg): Neg is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_neg_example": "import: node 'Neg_0' (Neg): Neg is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow_bcast_array": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow_bcast_scalar": "import: test_pow_bcast_scalar: not a usable ONNX model: input 'y' of shape  is beyond the importer's limits (rank ≤ 16, sides ≤ 2147483648, ≤ 8589934592 elements)",
        "test_pow_example": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow_types_float32_int32": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow_types_float32_int64": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow_types_float32_uint32": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_pow_types_float32_uint64": "import: node 'Pow_0' (Pow): Pow is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_prelu_broadcast": "import: node 'PRelu_0': op PRelu is not supported",
        "test_prelu_example": "import: node 'PRelu_0': op PRelu is not supported",
        "test_reciprocal": "import: node 'Reciprocal_0' (Reciprocal): Reciprocal is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_reciprocal_example": "import: node 'Reciprocal_0' (Reciprocal): Reciprocal is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_reduce_l2_default_axes_keepdims_example": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_default_axes_keepdims_example_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_default_axes_keepdims_random": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_default_axes_keepdims_random_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_do_not_keepdims_example": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_do_not_keepdims_example_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_do_not_keepdims_random": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_do_not_keepdims_random_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_empty_set": "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1",
        "test_reduce_l2_empty_set_expanded": "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1",
        "test_reduce_l2_keep_dims_example": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_keep_dims_example_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_keep_dims_random": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_keep_dims_random_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_negative_axes_keep_dims_example": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_negative_axes_keep_dims_example_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_l2_negative_axes_keep_dims_random": "import: node 'ReduceL2_0': op ReduceL2 is not supported",
        "test_reduce_l2_negative_axes_keep_dims_random_expanded": "import: node 'ReduceSum_1': op ReduceSum is not supported",
        "test_reduce_max_default_axes_keepdim_example": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_default_axes_keepdims_random": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_do_not_keepdims_example": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_do_not_keepdims_random": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_empty_set": "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1",
        "test_reduce_max_keepdims_example": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_keepdims_random": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_negative_axes_keepdims_example": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_max_negative_axes_keepdims_random": "import: node 'ReduceMax_0': op ReduceMax is not supported",
        "test_reduce_mean_default_axes_keepdims_example": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_default_axes_keepdims_random": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_do_not_keepdims_example": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_do_not_keepdims_random": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_keepdims_example": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_keepdims_random": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_negative_axes_keepdims_example": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_mean_negative_axes_keepdims_random": "import: node 'ReduceMean_0': op ReduceMean is not supported",
        "test_reduce_min_default_axes_keepdims_example": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_default_axes_keepdims_random": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_do_not_keepdims_example": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_do_not_keepdims_random": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_empty_set": "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1",
        "test_reduce_min_keepdims_example": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_keepdims_random": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_negative_axes_keepdims_example": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_min_negative_axes_keepdims_random": "import: node 'ReduceMin_0': op ReduceMin is not supported",
        "test_reduce_sum_default_axes_keepdims_example": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_default_axes_keepdims_random": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_do_not_keepdims_example": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_do_not_keepdims_random": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_empty_axes_input_noop": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_empty_axes_input_noop_example": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_empty_set": "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1",
        "test_reduce_sum_empty_set_non_reduced_axis_zero": "import: --input-shape 2,0,4 for input 'data': every dimension must be ≥ 1",
        "test_reduce_sum_keepdims_example": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_keepdims_random": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_negative_axes_keepdims_example": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_reduce_sum_negative_axes_keepdims_random": "import: node 'ReduceSum_0': op ReduceSum is not supported",
        "test_relu_expanded_ver18": "import: node 'CastLike_1' (CastLike): CastLike is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_reshape_allowzero_reordered": "import: --input-shape 0,3,4 for input 'data': every dimension must be ≥ 1",
        "test_resize_downsample_scales_cubic": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_downsample_scales_cubic_align_corners": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_downsample_scales_cubic_antialias": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_downsample_scales_linear_align_corners": "Float32: output 'Y' element 1: 4.0, expected 3.142857074737549",
        "test_resize_downsample_scales_linear_antialias": "import: node 'Resize_0' (Resize): attribute 'antialias' is 1; antialiased resizing is not supported",
        "test_resize_downsample_scales_linear_half_pixel_symmetric": "import: node 'Resize_0' (Resize): attribute 'coordinate_transformation_mode' 'half_pixel_symmetric' is not supported (half_pixel, asymmetric, align_corners, pytorch_half_pixel are)",
        "test_resize_downsample_sizes_cubic": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_downsample_sizes_cubic_antialias": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_downsample_sizes_linear_antialias": "import: node 'Resize_0' (Resize): attribute 'antialias' is 1; antialiased resizing is not supported",
        "test_resize_downsample_sizes_nearest_not_larger": "import: node 'Resize_0' (Resize): attribute 'keep_aspect_ratio_policy' is not 'stretch'; only stretching to the given sizes is supported",
        "test_resize_downsample_sizes_nearest_not_smaller": "import: node 'Resize_0' (Resize): attribute 'keep_aspect_ratio_policy' is not 'stretch'; only stretching to the given sizes is supported",
        "test_resize_tf_crop_and_resize": "import: node 'Resize_0' (Resize): attribute 'coordinate_transformation_mode' 'tf_crop_and_resize' is not supported (half_pixel, asymmetric, align_corners, pytorch_half_pixel are)",
        "test_resize_tf_crop_and_resize_axes_2_3": "import: node 'Resize_0' (Resize): attribute 'coordinate_transformation_mode' 'tf_crop_and_resize' is not supported (half_pixel, asymmetric, align_corners, pytorch_half_pixel are)",
        "test_resize_tf_crop_and_resize_axes_3_2": "import: node 'Resize_0' (Resize): attribute 'coordinate_transformation_mode' 'tf_crop_and_resize' is not supported (half_pixel, asymmetric, align_corners, pytorch_half_pixel are)",
        "test_resize_tf_crop_and_resize_extrapolation_value": "import: node 'Resize_0' (Resize): attribute 'coordinate_transformation_mode' 'tf_crop_and_resize' is not supported (half_pixel, asymmetric, align_corners, pytorch_half_pixel are)",
        "test_resize_upsample_scales_cubic": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_upsample_scales_cubic_align_corners": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_upsample_scales_cubic_asymmetric": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_upsample_scales_linear_half_pixel_symmetric": "import: node 'Resize_0' (Resize): attribute 'coordinate_transformation_mode' 'half_pixel_symmetric' is not supported (half_pixel, asymmetric, align_corners, pytorch_half_pixel are)",
        "test_resize_upsample_scales_nearest_axes_3_2": "import: node 'Resize_0' (Resize): attribute 'axes' [3, 2] is not supported (only the spatial axes [2, 3])",
        "test_resize_upsample_sizes_cubic": "import: node 'Resize_0' (Resize): attribute 'mode' 'cubic' is not supported (nearest and linear are)",
        "test_resize_upsample_sizes_nearest_axes_3_2": "import: node 'Resize_0' (Resize): attribute 'axes' [3, 2] is not supported (only the spatial axes [2, 3])",
        "test_resize_upsample_sizes_nearest_not_larger": "import: node 'Resize_0' (Resize): attribute 'keep_aspect_ratio_policy' is not 'stretch'; only stretching to the given sizes is supported",
        "test_resize_upsample_sizes_nearest_not_smaller": "import: node 'Resize_0' (Resize): attribute 'keep_aspect_ratio_policy' is not 'stretch'; only stretching to the given sizes is supported",
        "test_selu": "import: node 'Selu_0': op Selu is not supported",
        "test_selu_default": "import: node 'Selu_0': op Selu is not supported",
        "test_selu_example": "import: node 'Selu_0': op Selu is not supported",
        "test_slice_start_out_of_bounds": "import: node 'Slice_0' (Slice): Slice: axis 1 of 20×10×5 sliced 1000:1000:1 is empty (empty outputs are out of scope)",
        "test_softmax_axis_0_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_axis_0_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_axis_1_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_axis_1_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_axis_2_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_axis_2_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_default_axis_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_default_axis_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_example_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_example_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_large_number_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_large_number_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_negative_axis_expanded": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softmax_negative_axis_expanded_ver18": "import: node 'ReduceMax_1': op ReduceMax is not supported",
        "test_softplus": "import: node 'Softplus_0': op Softplus is not supported",
        "test_softplus_example": "import: node 'Softplus_0': op Softplus is not supported",
        "test_softplus_example_expanded_ver18": "import: node 'Exp_0': op Exp is not supported",
        "test_softplus_expanded_ver18": "import: node 'Exp_0': op Exp is not supported",
        "test_split_zero_size_splits_opset13": "import: --input-shape 0 for input 'input': every dimension must be ≥ 1",
        "test_split_zero_size_splits_opset18": "import: --input-shape 0 for input 'input': every dimension must be ≥ 1",
        "test_sqrt": "import: node 'Sqrt_0' (Sqrt): Sqrt is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_sqrt_example": "import: node 'Sqrt_0' (Sqrt): Sqrt is supported only on values known at import (shape arithmetic); input 'x' is computed at run time",
        "test_sub": "import: node 'Sub_0' (Sub): Sub of two run-time values is not supported (only by a constant)",
        "test_sub_bcast": "import: node 'Sub_0' (Sub): Sub of two run-time values is not supported (only by a constant)",
        "test_sub_example": "import: node 'Sub_0' (Sub): Sub of two run-time values is not supported (only by a constant)",
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
                let reason = error.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
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
        relu.outputs[0].file = relu.inputs[0].file   // the input has negative values, relu's output none
        let error = try #require(runner.check(relu), "test_relu against its input must fail")
        #expect(error.contains("Float32: output 'y' element"), "\(error)")
    }

    @Test("the fixture folders are exactly the manifest's tests")
    func foldersMatchManifest() throws {
        let manifest = try NodeTestManifest.load()
        let folders = try FileManager.default.contentsOfDirectory(atPath: NodeTestManifest.directory).filter { $0.hasPrefix("test_") }
        #expect(Set(folders) == Set(manifest.tests.map(\.name)))
        #expect(manifest.tolerance.rtol == 1e-3 && manifest.tolerance.atol == 1e-7)
    }
}
