"""Activation tensor ops: Softplus, Mish, Softsign, Gelu (exact and tanh), Elu, Selu, Celu,
Shrink, PRelu (constant and run-time slope, unidirectional broadcasting) and Clip with bounds
computed at run time; plus the built-in Clip with min > max (ONNX: every element is max)."""
import numpy as np
from onnx import helper, numpy_helper

rng = np.random.default_rng(12)


def node(op, ins, out="y", **kw):
    return helper.make_node(op, ins, [out], **kw)


def unary(name, op, shape=(2, 3, 4, 5), opset=17, low=-4.0, high=4.0, **attrs):
    return dict(name=name, nodes=[node(op, ["x"], **attrs)], inputs=[("x", list(shape))], outputs=["y"], opset=opset, low=low, high=high)


def scalar(name, v):
    return numpy_helper.from_array(np.array(v, dtype=np.float32), name)


CASES = [
    unary("softplus", "Softplus", low=-30.0, high=30.0),
    unary("softplus_opset7", "Softplus", shape=(3, 4), opset=7),
    unary("mish", "Mish", opset=18, low=-10.0, high=10.0),
    unary("softsign", "Softsign", shape=(2, 9)),
    unary("gelu_exact", "Gelu", opset=20),
    unary("gelu_tanh", "Gelu", opset=20, approximate="tanh"),
    unary("gelu_rank1_opset21", "Gelu", shape=(16,), opset=21),
    unary("elu_default", "Elu"),
    unary("elu_alpha", "Elu", shape=(2, 3, 5), alpha=0.3),
    unary("elu_opset7", "Elu", shape=(2, 3), opset=7, alpha=2.0),
    unary("selu_default", "Selu"),
    unary("selu_attrs", "Selu", shape=(3, 7), alpha=2.0, gamma=3.0),
    unary("celu", "Celu", shape=(2, 3, 4), opset=12, alpha=2.0),
    unary("shrink", "Shrink", shape=(3, 8), opset=9, lambd=1.5, bias=0.5),
    unary("shrink_default", "Shrink", shape=(3, 8), opset=13),
    # PRelu: per-channel constant slope (PyTorch's [C,1,1]), scalar, run-time slope, opset 9.
    dict(name="prelu_channel_const", nodes=[node("PRelu", ["x", "s"])], inputs=[("x", [2, 3, 4, 5])], outputs=["y"],
         initializers=[numpy_helper.from_array(rng.uniform(0, 0.5, size=(3, 1, 1)).astype(np.float32), "s")]),
    dict(name="prelu_scalar_const", nodes=[node("PRelu", ["x", "s"])], inputs=[("x", [2, 6])], outputs=["y"],
         initializers=[numpy_helper.from_array(np.array([0.25], dtype=np.float32), "s")]),
    dict(name="prelu_runtime_trailing", nodes=[node("PRelu", ["x", "s"])], inputs=[("x", [2, 3, 5]), ("s", [5])], outputs=["y"]),
    dict(name="prelu_opset9", nodes=[node("PRelu", ["x", "s"])], inputs=[("x", [2, 4, 3, 3])], outputs=["y"], opset=9,
         initializers=[numpy_helper.from_array(rng.uniform(0, 0.5, size=(4, 1, 1)).astype(np.float32), "s")]),
    # Clip: min > max (built-in Activation.clip; ONNX: every element is max), and bounds at run time.
    dict(name="clip_min_greater_than_max", nodes=[node("Clip", ["x", "lo", "hi"])], inputs=[("x", [2, 3, 4])], outputs=["y"],
         initializers=[scalar("lo", 1.0), scalar("hi", -1.0)]),
    dict(name="clip_runtime_bounds", nodes=[node("Clip", ["x", "lo", "hi"])], inputs=[("x", [2, 3, 4]), ("lo", [1]), ("hi", [1])],
         outputs=["y"], values={"lo": np.array([-0.5]), "hi": np.array([1.0])}),
    dict(name="clip_runtime_max_only", nodes=[node("Clip", ["x", "", "hi"])], inputs=[("x", [2, 3, 4]), ("hi", [1])],
         outputs=["y"], values={"hi": np.array([0.25])}),
    dict(name="clip_runtime_min_above_max", nodes=[node("Clip", ["x", "lo", "hi"])], inputs=[("x", [2, 5]), ("lo", [1])],
         outputs=["y"], initializers=[scalar("hi", -1.0)], values={"lo": np.array([0.5])}),
]
