"""Data-movement tensor ops (Transpose, ...)."""
from onnx import helper

CASES = [
    dict(name="transpose_0231", nodes=[helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])],
         inputs=[("x", [2, 3, 4, 5])], outputs=["y"]),
    dict(name="transpose_default_3d", nodes=[helper.make_node("Transpose", ["x"], ["y"])],
         inputs=[("x", [2, 3, 4])], outputs=["y"]),
    dict(name="transpose_rank6", nodes=[helper.make_node("Transpose", ["x"], ["y"], perm=[5, 0, 3, 1, 4, 2])],
         inputs=[("x", [2, 1, 3, 2, 2, 3])], outputs=["y"]),
]
