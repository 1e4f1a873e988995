"""Element-wise tensor ops: broadcasting Add/Sub/Mul/Div/Pow/Max/Min/Sum/Mean between run-time
values and with constants, the unary math kinds (Sqrt, Exp, Log, Abs, Neg, Reciprocal, Erf) and
Cast between float types."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)


def const(name, shape, low=-2.0, high=2.0):
    return numpy_helper.from_array(rng.uniform(low, high, size=shape).astype(np.float32), name)


def node(op, ins, out="y", **kw):
    return helper.make_node(op, ins, [out], **kw)


CASES = [
    # Broadcasting between two run-time values (the built-in importer refuses all of these).
    dict(name="add_bcast_trailing", nodes=[node("Add", ["x", "b"])], inputs=[("x", [2, 3, 4, 5]), ("b", [5])], outputs=["y"]),
    dict(name="add_bcast_channel", nodes=[node("Add", ["x", "b"])], inputs=[("x", [2, 3, 4, 5]), ("b", [1, 3, 1, 1])], outputs=["y"]),
    dict(name="add_bcast_both_ways", nodes=[node("Add", ["x", "b"])], inputs=[("x", [3, 1, 5]), ("b", [4, 1])], outputs=["y"]),
    dict(name="sub_runtime_same", nodes=[node("Sub", ["x", "b"])], inputs=[("x", [2, 3, 4]), ("b", [2, 3, 4])], outputs=["y"]),
    dict(name="sub_runtime_rowwise", nodes=[node("Sub", ["x", "b"])], inputs=[("x", [2, 6, 7]), ("b", [2, 6, 1])], outputs=["y"]),
    dict(name="div_runtime_bcast", nodes=[node("Div", ["x", "b"])], inputs=[("x", [2, 3, 4, 5]), ("b", [2, 1, 4, 1])],
         outputs=["y"], low=0.5, high=2.0),
    dict(name="mul_runtime_outer", nodes=[node("Mul", ["x", "b"])], inputs=[("x", [4, 1]), ("b", [1, 6])], outputs=["y"]),
    dict(name="mul_rank6", nodes=[node("Mul", ["x", "b"])], inputs=[("x", [2, 1, 3, 1, 2, 3]), ("b", [1, 3, 2, 1])], outputs=["y"]),
    dict(name="add_rank1", nodes=[node("Add", ["x", "b"])], inputs=[("x", [7]), ("b", [7])], outputs=["y"]),
    # With constants: full-shape, scalar (rank 0), constant first, a constant that widens the shape.
    dict(name="add_const_full", nodes=[node("Add", ["x", "c"])], inputs=[("x", [1, 3, 4, 5])], outputs=["y"],
         initializers=[const("c", [1, 3, 4, 5])]),
    dict(name="sub_const_first_scalar", nodes=[node("Sub", ["c", "x"])], inputs=[("x", [2, 3, 4])], outputs=["y"],
         initializers=[numpy_helper.from_array(np.array(1.5, dtype=np.float32), "c")]),
    dict(name="div_const_by_runtime", nodes=[node("Div", ["c", "x"])], inputs=[("x", [2, 5])], outputs=["y"],
         initializers=[const("c", [5])], low=0.5, high=2.0),
    dict(name="mul_const_widens", nodes=[node("Mul", ["x", "c"])], inputs=[("x", [2, 1, 4])], outputs=["y"],
         initializers=[const("c", [3, 1])]),
    dict(name="add_const_trailing_3d", nodes=[node("Add", ["x", "c"])], inputs=[("x", [2, 5, 8])], outputs=["y"],
         initializers=[const("c", [8])]),
    # Pow: run-time exponent, constant exponent, constant base.
    dict(name="pow_runtime", nodes=[node("Pow", ["x", "e"])], inputs=[("x", [2, 3, 4]), ("e", [4])], outputs=["y"], low=0.5, high=2.0),
    dict(name="pow_const_exponent", nodes=[node("Pow", ["x", "e"])], inputs=[("x", [2, 3, 4])], outputs=["y"],
         initializers=[numpy_helper.from_array(np.array(2.0, dtype=np.float32), "e")]),
    dict(name="pow_const_base", nodes=[node("Pow", ["b", "x"])], inputs=[("x", [2, 6])], outputs=["y"],
         initializers=[numpy_helper.from_array(np.array([2.0, 3.0, 0.5, 1.5, 2.5, 4.0], dtype=np.float32), "b")]),
    dict(name="pow_opset12", nodes=[node("Pow", ["x", "e"])], inputs=[("x", [2, 3]), ("e", [2, 3])], outputs=["y"], opset=12, low=0.5, high=2.0),
    # Max/Min/Sum/Mean: 1, 2 and 3 operands, broadcasting, constants, opset 7 (no broadcasting needed) and 13.
    dict(name="max_one", nodes=[node("Max", ["x"])], inputs=[("x", [2, 3])], outputs=["y"]),
    dict(name="max_three_bcast", nodes=[node("Max", ["x", "a", "b"])], inputs=[("x", [2, 3, 4]), ("a", [4]), ("b", [3, 1])], outputs=["y"]),
    dict(name="min_two_const", nodes=[node("Min", ["x", "c"])], inputs=[("x", [2, 3, 4])], outputs=["y"],
         initializers=[const("c", [3, 4])]),
    dict(name="min_opset8", nodes=[node("Min", ["x", "a"])], inputs=[("x", [2, 3]), ("a", [2, 3])], outputs=["y"], opset=8),
    dict(name="sum_three_bcast", nodes=[node("Sum", ["x", "a", "b"])], inputs=[("x", [2, 3, 4]), ("a", [1, 4]), ("b", [2, 3, 1])], outputs=["y"]),
    dict(name="sum_one", nodes=[node("Sum", ["x"])], inputs=[("x", [2, 5])], outputs=["y"]),
    dict(name="mean_three", nodes=[node("Mean", ["x", "a", "b"])], inputs=[("x", [2, 3, 4]), ("a", [2, 3, 4]), ("b", [4])], outputs=["y"]),
    dict(name="mean_one_opset7", nodes=[node("Mean", ["x"])], inputs=[("x", [3, 4])], outputs=["y"], opset=7),
    dict(name="add_opset7", nodes=[node("Add", ["x", "b"])], inputs=[("x", [2, 3, 4]), ("b", [3, 4])], outputs=["y"], opset=7),
    # A LayerNorm written out (ReduceMean is another group's; here the Sub/Pow/Sqrt/Div chain on given mean).
    dict(name="layernorm_tail", nodes=[node("Sub", ["x", "m"], "d"), node("Mul", ["d", "d"], "d2"), node("Add", ["d2", "eps"], "v"),
                                       node("Sqrt", ["v"], "s"), node("Div", ["d", "s"], "y")],
         inputs=[("x", [2, 5, 8]), ("m", [2, 5, 1])], outputs=["y"],
         initializers=[numpy_helper.from_array(np.array(1e-5, dtype=np.float32), "eps")]),
    # Unary math.
    dict(name="sqrt", nodes=[node("Sqrt", ["x"])], inputs=[("x", [2, 3, 4])], outputs=["y"], low=0.0, high=4.0),
    dict(name="exp", nodes=[node("Exp", ["x"])], inputs=[("x", [2, 3, 4])], outputs=["y"]),
    dict(name="log", nodes=[node("Log", ["x"])], inputs=[("x", [2, 3, 4])], outputs=["y"], low=0.01, high=5.0),
    dict(name="abs_rank5", nodes=[node("Abs", ["x"])], inputs=[("x", [2, 1, 3, 2, 2])], outputs=["y"]),
    dict(name="neg", nodes=[node("Neg", ["x"])], inputs=[("x", [4])], outputs=["y"]),
    dict(name="reciprocal", nodes=[node("Reciprocal", ["x"])], inputs=[("x", [2, 7])], outputs=["y"], low=0.25, high=3.0),
    dict(name="erf", nodes=[node("Erf", ["x"])], inputs=[("x", [2, 3, 8])], outputs=["y"], low=-3.0, high=3.0),
    dict(name="gelu_decomposed", nodes=[node("Div", ["x", "sqrt2"], "a"), node("Erf", ["a"], "e"), node("Add", ["e", "one"], "p"),
                                        node("Mul", ["x", "p"], "m"), node("Mul", ["m", "half"], "y")],
         inputs=[("x", [2, 4, 6])], outputs=["y"],
         initializers=[numpy_helper.from_array(np.array(1.4142135381698608, dtype=np.float32), "sqrt2"),
                       numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
                       numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half")]),
    # Cast between float types (to a narrower type and back: the value is rounded).
    dict(name="cast_float", nodes=[node("Cast", ["x"], to=TensorProto.FLOAT)], inputs=[("x", [2, 3])], outputs=["y"]),
    dict(name="cast_double_back", nodes=[node("Cast", ["x"], "d", to=TensorProto.DOUBLE), node("Cast", ["d"], to=TensorProto.FLOAT)],
         inputs=[("x", [2, 3])], outputs=["y"]),
    dict(name="cast_float16_back", nodes=[node("Cast", ["x"], "h", to=TensorProto.FLOAT16), node("Cast", ["h"], to=TensorProto.FLOAT)],
         inputs=[("x", [3, 50])], outputs=["y"], low=-65000.0, high=65000.0, tolerance=0.0),
    dict(name="cast_float16_small", nodes=[node("Cast", ["x"], "h", to=TensorProto.FLOAT16), node("Cast", ["h"], to=TensorProto.FLOAT)],
         inputs=[("x", [4, 40])], outputs=["y"], low=-1e-4, high=1e-4, tolerance=0.0),
    dict(name="cast_bfloat16_back", nodes=[node("Cast", ["x"], "h", to=TensorProto.BFLOAT16), node("Cast", ["h"], to=TensorProto.FLOAT)],
         inputs=[("x", [3, 50])], outputs=["y"], low=-300.0, high=300.0, tolerance=0.0),
    dict(name="cast_float16_opset21", nodes=[node("Cast", ["x"], "h", to=TensorProto.FLOAT16), node("Cast", ["h"], to=TensorProto.FLOAT)],
         inputs=[("x", [2, 8])], outputs=["y"], opset=21, tolerance=0.0),
]
# CastLike: a constant cast like a run-time value (the expanded activations' form), and a
# run-time value cast like a float constant.
CASES += [
    dict(name="castlike_constant_like_runtime", nodes=[node("CastLike", ["a", "x"], "ac"), node("Mul", ["x", "ac"])],
         inputs=[("x", [2, 3, 4])], outputs=["y"], opset=15, initializers=[const("a", [4])]),
    dict(name="castlike_runtime_like_constant", nodes=[node("CastLike", ["x", "t"])], inputs=[("x", [2, 3])], outputs=["y"],
         opset=19, initializers=[numpy_helper.from_array(np.array([1.0], dtype=np.float32), "t")]),
]
