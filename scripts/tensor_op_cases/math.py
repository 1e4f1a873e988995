"""Math tensor ops: MatMul, Gemm, Reduce*, Softmax/LogSoftmax, LayerNormalization (with its Mean
and InvStdDev outputs), and ConvTranspose's output_shape (a built-in op, checked here against
onnxruntime too). Cases whose model has no one-node ONNX export at opset >= 17 (the opset < 13
Softmax that normalizes several axes jointly) set export_refused to the phrase the refusal says."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(11)


def const(name, shape, low=-1.0, high=1.0):
    return numpy_helper.from_array(RNG.uniform(low, high, size=shape).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


CASES = []

# --- MatMul ---------------------------------------------------------------------------------
for name, a, b, inits in [
    ("matmul_3d_3d", [2, 3, 4], [2, 4, 5], []),
    ("matmul_broadcast_batch", [2, 1, 3, 4], [3, 4, 5], []),
    ("matmul_1d_left", [4], [2, 4, 5], []),
    ("matmul_1d_right", [2, 3, 4], [4], []),
    ("matmul_2d_runtime_b", [3, 4], [4, 6], []),
    ("matmul_rank6", [1, 2, 1, 2, 3, 4], [2, 1, 2, 1, 4, 3], []),
    ("matmul_many_batches", [64, 16, 32], [64, 32, 16], []),
    ("matmul_shared_runtime_b", [8, 24, 32], [32, 16], []),
]:
    CASES.append(dict(name=name, nodes=[node("MatMul", ["a", "b"], ["y"])], inputs=[("a", a), ("b", b)], outputs=["y"], tolerance=1e-4))
CASES += [
    dict(name="matmul_const_b_3d", nodes=[node("MatMul", ["a", "w"], ["y"])], inputs=[("a", [2, 3, 4])], outputs=["y"],
         initializers=[const("w", [2, 4, 5])]),
    dict(name="matmul_const_b_1d", nodes=[node("MatMul", ["a", "w"], ["y"])], inputs=[("a", [2, 3, 4])], outputs=["y"],
         initializers=[const("w", [4])]),
    dict(name="matmul_const_a", nodes=[node("MatMul", ["w", "b"], ["y"])], inputs=[("b", [2, 4, 5])], outputs=["y"],
         initializers=[const("w", [3, 4])]),
    dict(name="matmul_opset9", nodes=[node("MatMul", ["a", "b"], ["y"])], inputs=[("a", [2, 3, 4]), ("b", [2, 4, 5])],
         outputs=["y"], opset=9),
]

# --- Gemm -----------------------------------------------------------------------------------
CASES += [
    dict(name="gemm_transpose_a", nodes=[node("Gemm", ["a", "b"], ["y"], transA=1)], inputs=[("a", [4, 3])], outputs=["y"],
         initializers=[const("b", [4, 5])]),
    dict(name="gemm_all_attributes", nodes=[node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.25, beta=0.35)],
         inputs=[("a", [4, 3])], outputs=["y"], initializers=[const("b", [5, 4]), const("c", [1, 5])]),
    dict(name="gemm_matrix_c", nodes=[node("Gemm", ["a", "b", "c"], ["y"])], inputs=[("a", [3, 5])], outputs=["y"],
         initializers=[const("b", [5, 4]), const("c", [3, 4])]),
    dict(name="gemm_column_c", nodes=[node("Gemm", ["a", "b", "c"], ["y"], beta=2.0)], inputs=[("a", [3, 5])], outputs=["y"],
         initializers=[const("b", [5, 4]), const("c", [3, 1])]),
    dict(name="gemm_runtime_b", nodes=[node("Gemm", ["a", "b", "c"], ["y"], transB=1)], inputs=[("a", [3, 5]), ("b", [4, 5])],
         outputs=["y"], initializers=[const("c", [4])]),
    dict(name="gemm_runtime_c", nodes=[node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5)], inputs=[("a", [3, 5]), ("c", [3, 4])],
         outputs=["y"], initializers=[const("b", [5, 4])]),
    dict(name="gemm_scalar_c_opset9", nodes=[node("Gemm", ["a", "b", "c"], ["y"], transA=1)], inputs=[("a", [5, 3])],
         outputs=["y"], initializers=[const("b", [5, 4]), const("c", [])], opset=9),
    dict(name="gemm_no_c_opset11", nodes=[node("Gemm", ["a", "b"], ["y"], transA=1, alpha=3.0)], inputs=[("a", [5, 3]), ("b", [5, 4])],
         outputs=["y"], opset=11),
]

# --- Reduce* --------------------------------------------------------------------------------
REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
          "ReduceLogSum", "ReduceLogSumExp"]
for op in REDUCE:
    low = 0.1 if op == "ReduceLogSum" else -2.0
    short = op[len("Reduce"):].lower()
    # Axes as the attribute (opset 13; ReduceSum takes them as an input from 13).
    if op == "ReduceSum":
        first = dict(nodes=[node(op, ["x", "axes"], ["y"], keepdims=1)], initializers=[ints("axes", [1, -1])])
    else:
        first = dict(nodes=[node(op, ["x"], ["y"], axes=[1, -1], keepdims=1)])
    CASES.append(dict(name=f"reduce_{short}_axes_keepdims_opset13", inputs=[("x", [2, 3, 4, 5])], outputs=["y"], opset=13, low=low, **first))
    # Axes as a constant input (opset 18), negative, keepdims 0.
    CASES.append(dict(name=f"reduce_{short}_axes_input_opset18", nodes=[node(op, ["x", "axes"], ["y"], keepdims=0)],
                      initializers=[ints("axes", [-2, 0])], inputs=[("x", [2, 3, 4])], outputs=["y"], opset=18, low=low))
    # No axes: every axis.
    CASES.append(dict(name=f"reduce_{short}_all_opset11", nodes=[node(op, ["x"], ["y"], keepdims=0)] if op != "ReduceSum" else
                      [node(op, ["x"], ["y"], keepdims=0)], inputs=[("x", [3, 4])], outputs=["y"], opset=11, low=low))
CASES += [
    dict(name="reduce_mean_opset7", nodes=[node("ReduceMean", ["x"], ["y"], axes=[2, 3])], inputs=[("x", [2, 3, 4, 5])], outputs=["y"], opset=7),
    # noop_with_empty_axes=1 with no axes (the identity): onnxruntime 1.23 refuses it ("Reduction on all
    # axes, output size should be 1"); TensorOpsMathTests checks it against the spec's identity.
    dict(name="reduce_max_empty_axes_input", nodes=[node("ReduceMax", ["x", "axes"], ["y"], keepdims=1)],
         initializers=[ints("axes", [])], inputs=[("x", [2, 3, 4])], outputs=["y"], opset=18),
    dict(name="reduce_mean_100k", nodes=[node("ReduceMean", ["x"], ["y"], axes=[1])], inputs=[("x", [2, 100000])], outputs=["y"],
         opset=13, low=0.0, high=1.0),
    dict(name="reduce_l2_rank6", nodes=[node("ReduceL2", ["x", "axes"], ["y"], keepdims=0)], initializers=[ints("axes", [1, 3, 5])],
         inputs=[("x", [2, 2, 3, 2, 2, 3])], outputs=["y"], opset=18),
    dict(name="reduce_mean_then_sub", nodes=[node("ReduceMean", ["x"], ["m"], axes=[-1]), node("ReduceMax", ["m"], ["y"], axes=[1], keepdims=0)],
         inputs=[("x", [2, 3, 4])], outputs=["y"], opset=13),
]

# --- Softmax / LogSoftmax -------------------------------------------------------------------
CASES += [
    dict(name="softmax_opset11_default_axis_3d", nodes=[node("Softmax", ["x"], ["y"])], inputs=[("x", [2, 3, 4])], outputs=["y"],
         opset=11, export_refused="no one-node ONNX form"),
    dict(name="softmax_opset11_axis2_4d", nodes=[node("Softmax", ["x"], ["y"], axis=2)], inputs=[("x", [2, 3, 4, 5])], outputs=["y"],
         opset=11, export_refused="no one-node ONNX form"),
    dict(name="softmax_opset11_axis_neg1", nodes=[node("Softmax", ["x"], ["y"], axis=-1)], inputs=[("x", [2, 3, 4])], outputs=["y"], opset=11),
    dict(name="softmax_opset13_axis1_4d", nodes=[node("Softmax", ["x"], ["y"], axis=1)], inputs=[("x", [2, 3, 4, 5])], outputs=["y"], opset=13),
    dict(name="logsoftmax_opset13_default", nodes=[node("LogSoftmax", ["x"], ["y"])], inputs=[("x", [2, 3, 4])], outputs=["y"], opset=13),
    dict(name="logsoftmax_opset13_axis1", nodes=[node("LogSoftmax", ["x"], ["y"], axis=1)], inputs=[("x", [2, 3, 4, 5])], outputs=["y"],
         opset=13, low=-30, high=30),
    dict(name="logsoftmax_opset11_default_axis_3d", nodes=[node("LogSoftmax", ["x"], ["y"])], inputs=[("x", [2, 3, 4])], outputs=["y"],
         opset=11, export_refused="no one-node ONNX form"),
    dict(name="logsoftmax_opset11_last_axis", nodes=[node("LogSoftmax", ["x"], ["y"], axis=2)], inputs=[("x", [2, 3, 4])], outputs=["y"], opset=11),
]

# --- LayerNormalization ---------------------------------------------------------------------
CASES += [
    dict(name="layernorm_three_outputs", nodes=[node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv_std"])],
         inputs=[("x", [2, 3, 4])], outputs=["y", "mean", "inv_std"], initializers=[const("s", [4]), const("b", [4])]),
    dict(name="layernorm_axis1_mean_output", nodes=[node("LayerNormalization", ["x", "s", "b"], ["y", "mean"], axis=1, epsilon=1e-3)],
         inputs=[("x", [2, 3, 4, 5])], outputs=["y", "mean"], initializers=[const("s", [3, 4, 5]), const("b", [3, 4, 5])]),
    dict(name="layernorm_runtime_scale", nodes=[node("LayerNormalization", ["x", "s"], ["y"])], inputs=[("x", [2, 3, 4]), ("s", [4])],
         outputs=["y"]),
    dict(name="layernorm_broadcast_scale_no_bias", nodes=[node("LayerNormalization", ["x", "s"], ["y", "mean", "inv_std"])],
         inputs=[("x", [2, 3, 4])], outputs=["y", "mean", "inv_std"], initializers=[const("s", [1, 1, 4])]),
]

# --- ConvTranspose output_shape (built-in op) -----------------------------------------------
W = const("w", [1, 2, 3, 3])
CASES += [
    dict(name="convtranspose_output_shape_larger", nodes=[node("ConvTranspose", ["x", "w"], ["y"], strides=[3, 2], output_shape=[10, 8])],
         inputs=[("x", [1, 1, 3, 3])], outputs=["y"], initializers=[W]),
    dict(name="convtranspose_output_shape_smaller", nodes=[node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], output_shape=[6, 5])],
         inputs=[("x", [1, 1, 3, 3])], outputs=["y"], initializers=[W]),
    dict(name="convtranspose_same_upper", nodes=[node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")],
         inputs=[("x", [1, 1, 3, 3])], outputs=["y"], initializers=[W]),
    dict(name="convtranspose_same_lower", nodes=[node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_LOWER")],
         inputs=[("x", [1, 1, 3, 3])], outputs=["y"], initializers=[W]),
]
