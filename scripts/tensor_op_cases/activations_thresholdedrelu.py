"""ThresholdedRelu (its own group: the proof that a new op touches its definition, its case file
and its fixtures only). ONNX ThresholdedRelu exists from opset 10."""
import numpy as np
from onnx import helper

CASES = [
    dict(name="thresholdedrelu_default", nodes=[helper.make_node("ThresholdedRelu", ["x"], ["y"])],
         inputs=[("x", [2, 3, 4, 5])], outputs=["y"], opset=10, low=-3, high=3),
    dict(name="thresholdedrelu_alpha_rank5", nodes=[helper.make_node("ThresholdedRelu", ["x"], ["y"], alpha=0.25)],
         inputs=[("x", [1, 2, 3, 2, 4])], outputs=["y"], opset=17),
    # A value exactly at alpha stays 0 (the comparison is strict); a negative alpha keeps small negatives.
    dict(name="thresholdedrelu_edges", nodes=[helper.make_node("ThresholdedRelu", ["x"], ["y"], alpha=0.5)],
         inputs=[("x", [8])], outputs=["y"], opset=10,
         values={"x": np.array([0.5, -0.5, 0.4999, 0.5001, 0.0, 1.0, -2.0, 0.25])}),
    dict(name="thresholdedrelu_negative_alpha", nodes=[helper.make_node("ThresholdedRelu", ["x"], ["y"], alpha=-0.5)],
         inputs=[("x", [3, 4])], outputs=["y"], opset=22),
]
