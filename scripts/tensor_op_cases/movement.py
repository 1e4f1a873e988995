"""Data-movement tensor ops: Transpose, Reshape, Squeeze, Unsqueeze, Slice, Split, Expand, Gather,
Concat, Pad, Tile — attribute vs input forms by opset, negative axes, clamping, several outputs."""
import numpy as np
from onnx import helper, numpy_helper

INT64_MAX = 2**63 - 1
INT64_MIN = -2**63


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def one(op, shape, opset=17, inits=(), node_inputs=None, outputs=("y",), **attrs):
    """A one-node case reading run-time input x (plus initializers) into `outputs`."""
    inputs = node_inputs if node_inputs is not None else ["x"] + [i.name for i in inits]
    return dict(nodes=[helper.make_node(op, inputs, list(outputs), **attrs)], inputs=[("x", shape)],
                outputs=list(outputs), initializers=list(inits), opset=opset)


def case(name, **kw):
    return dict(name=name, **kw)


CASES = [
    case("transpose_0231", nodes=[helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])],
         inputs=[("x", [2, 3, 4, 5])], outputs=["y"]),
    case("transpose_default_3d", nodes=[helper.make_node("Transpose", ["x"], ["y"])],
         inputs=[("x", [2, 3, 4])], outputs=["y"]),
    case("transpose_rank6", nodes=[helper.make_node("Transpose", ["x"], ["y"], perm=[5, 0, 3, 1, 4, 2])],
         inputs=[("x", [2, 1, 3, 2, 2, 3])], outputs=["y"]),

    # Reshape: 0 copies, -1 infers; not a flatten; rank 6 and rank 0; opset 7 and allowzero at 14.
    case("reshape_tokens", **one("Reshape", [2, 4, 3, 5], inits=[ints("s", [0, 4, -1])])),
    case("reshape_rank6", **one("Reshape", [2, 3, 4], inits=[ints("s", [1, 2, 1, 3, 2, 2])])),
    case("reshape_opset7_infer_first", **one("Reshape", [2, 3, 4], opset=7, inits=[ints("s", [-1, 2, 2])])),
    case("reshape_allowzero_14", **one("Reshape", [2, 3, 4], opset=14, inits=[ints("s", [3, 2, 4])], allowzero=1)),
    case("reshape_to_scalar", **one("Reshape", [1, 1], inits=[ints("s", [])])),
    # Graph inputs have rank ≥ 1: a scalar is made inside the graph, then reshaped and expanded.
    case("reshape_from_scalar", nodes=[helper.make_node("Reshape", ["x", "s0"], ["t"]), helper.make_node("Reshape", ["t", "s"], ["y"])],
         inputs=[("x", [1])], outputs=["y"], initializers=[ints("s0", []), ints("s", [1, 1, 1])]),

    # Squeeze / Unsqueeze: axes attribute at opset 11, input at 13; no axes; negative axes.
    case("squeeze_attr_11", **one("Squeeze", [2, 1, 3, 1], opset=11, axes=[1, -1])),
    case("squeeze_input_13", **one("Squeeze", [2, 3, 1, 4], inits=[ints("a", [-2])])),
    case("squeeze_all", **one("Squeeze", [2, 1, 3, 1])),
    case("squeeze_to_flatten", **one("Squeeze", [2, 3, 1, 1], inits=[ints("a", [2, 3])])),
    case("unsqueeze_attr_7", **one("Unsqueeze", [2, 3], opset=7, axes=[1, 3])),
    case("unsqueeze_input_13_negative", **one("Unsqueeze", [2, 3], inits=[ints("a", [-1, 1])])),
    case("unsqueeze_to_rank6", **one("Unsqueeze", [2, 3, 4], inits=[ints("a", [0, 2, 5])])),

    # Slice: attributes up to opset 9, inputs from 10; negative indices, clamping, INT64 ends, negative steps.
    case("slice_attr_7", **one("Slice", [2, 6, 5], opset=7, starts=[1, -4], ends=[5, 100], axes=[1, 2])),
    case("slice_attr_9_default_axes", **one("Slice", [4, 5], opset=9, starts=[1, 0], ends=[3, -1])),
    case("slice_input_10", **one("Slice", [3, 8], opset=10, inits=[ints("s", [2]), ints("e", [-1]), ints("a", [1])])),
    case("slice_steps_13", **one("Slice", [2, 3, 10], inits=[ints("s", [0, 1]), ints("e", [INT64_MAX, 10]),
                                                           ints("a", [1, -1]), ints("st", [2, 3])])),
    case("slice_reverse_13", **one("Slice", [2, 7], inits=[ints("s", [-1]), ints("e", [INT64_MIN]), ints("a", [1]), ints("st", [-1])])),
    case("slice_negative_step_2", **one("Slice", [3, 9, 2], inits=[ints("s", [20, 7]), ints("e", [-100, 0]), ints("a", [1, 0]),
                                                                   ints("st", [-2, -1])])),
    case("slice_clamp_start", **one("Slice", [4, 6], inits=[ints("s", [-100, 2]), ints("e", [1000, INT64_MAX])])),
    case("slice_rank1", **one("Slice", [11], inits=[ints("s", [3]), ints("e", [9]), ints("a", [0]), ints("st", [2])])),

    # Split: attribute (opset 11), input (13), equal, num_outputs (18); negative axis.
    case("split_attr_11", **one("Split", [2, 5, 3], opset=11, outputs=("y0", "y1"), axis=1, split=[2, 3])),
    case("split_attr_7_equal", **one("Split", [6, 4], opset=7, outputs=("y0", "y1", "y2"), axis=0)),
    case("split_input_13", **one("Split", [2, 3, 7], outputs=("y0", "y1", "y2"), inits=[ints("sp", [1, 4, 2])], axis=-1)),
    case("split_equal_13", **one("Split", [2, 8], outputs=("y0", "y1"), axis=1)),
    case("split_num_outputs_18", **one("Split", [2, 7, 3], opset=18, outputs=("y0", "y1", "y2"), axis=1, num_outputs=3)),

    # Expand: broadcasting both ways.
    case("expand_bidirectional", **one("Expand", [3, 1], inits=[ints("sh", [2, 1, 6])])),
    case("expand_keep_dims", **one("Expand", [2, 3, 4], inits=[ints("sh", [3, 1])])),
    case("expand_inner_8", **one("Expand", [2, 1, 4], opset=8, inits=[ints("sh", [2, 5, 4])])),
    case("expand_scalar", nodes=[helper.make_node("Reshape", ["x", "s0"], ["t"]), helper.make_node("Expand", ["t", "sh"], ["y"])],
         inputs=[("x", [1])], outputs=["y"], initializers=[ints("s0", []), ints("sh", [2, 3])]),

    # Gather: constant indices (negative too), any axis (1-D indices: the exporter writes 1-D integer inputs).
    case("gather_axis0", **one("Gather", [5, 3, 2], inits=[ints("i", [4, 0, -1, 2])])),
    case("gather_axis_negative", **one("Gather", [2, 3, 6], inits=[ints("i", [5, -6, 1])], axis=-1)),
    case("gather_axis1_11", **one("Gather", [2, 4, 3], opset=11, inits=[ints("i", [3, 3, 0])], axis=1)),
    case("gather_opset7", **one("Gather", [4, 3], opset=7, inits=[ints("i", [-4, 2])], axis=0)),

    # Concat with constant operands, any axis.
    case("concat_constant_middle", nodes=[helper.make_node("Concat", ["x", "c", "z"], ["y"], axis=1)],
         inputs=[("x", [2, 3, 4]), ("z", [2, 1, 4])], outputs=["y"],
         initializers=[floats("c", np.arange(16).reshape(2, 2, 4) / 8.0)]),
    case("concat_constant_first_negative_axis", **one("Concat", [2, 3], node_inputs=["c", "x"], axis=-1,
                                                      inits=[floats("c", [[0.5, -1], [2, 3]])])),
    case("concat_rank1_11", **one("Concat", [3], opset=11, node_inputs=["x", "c", "x"], axis=0, inits=[floats("c", [7, 8])])),
    case("concat_axis0_rank5", **one("Concat", [1, 2, 1, 2, 3], node_inputs=["x", "c"], axis=0,
                                     inits=[floats("c", np.linspace(-1, 1, 12).reshape(1, 2, 1, 2, 3))])),

    # Pad: reflect, edge, wrap; negative pads crop; axes input at 18; attribute form before 11.
    case("pad_reflect_11", **one("Pad", [1, 2, 4, 5], opset=11, inits=[ints("p", [0, 0, 2, 1, 0, 0, 1, 3])], mode="reflect")),
    case("pad_edge_13", **one("Pad", [2, 3, 4], inits=[ints("p", [0, 2, 1, 0, 1, 3])], mode="edge")),
    case("pad_constant_crop", **one("Pad", [2, 5, 6], inits=[ints("p", [0, -1, 2, 0, 1, -3])])),
    case("pad_constant_3d", **one("Pad", [2, 3, 4], inits=[ints("p", [0, 1, 2, 0, 2, 1])])),
    case("pad_constant_value_1_5", **one("Pad", [2, 3, 4], inits=[ints("p", [0, 1, 2, 0, 2, 1]),
                                                                  numpy_helper.from_array(np.array(1.5, dtype=np.float32), "v")])),
    case("pad_axes_18", **one("Pad", [2, 3, 4, 5], opset=18, node_inputs=["x", "p", "", "a"],
                              inits=[ints("p", [1, 2, 2, 1]), ints("a", [-1, 2])], mode="reflect")),
    case("pad_wrap_19", **one("Pad", [2, 3, 4], opset=19, inits=[ints("p", [0, 1, 2, 0, 2, 1])], mode="wrap")),
    case("pad_attr_7_edge", **one("Pad", [3, 4], opset=7, pads=[1, 0, 2, 3], mode="edge")),

    # Tile.
    case("tile_2d", **one("Tile", [2, 3], inits=[ints("r", [2, 3])])),
    case("tile_rank4", **one("Tile", [1, 2, 3, 2], inits=[ints("r", [2, 1, 2, 3])])),
    case("tile_7", **one("Tile", [3], opset=7, inits=[ints("r", [4])])),
]
