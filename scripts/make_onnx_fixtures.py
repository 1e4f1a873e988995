#!/usr/bin/env python3
"""Build the ONNX oracle fixtures in fixtures/onnx/.

For every case this script builds a small ONNX model (one op / attribute combination, a small
pattern such as SiLU or channel shuffle, or a small network), runs it in onnxruntime (CPU,
graph optimizations disabled, one thread) and writes

    fixtures/onnx/<case>/model.onnx
    fixtures/onnx/<case>/input_<name>.npy    graph inputs            (float32, C order, '<f4')
    fixtures/onnx/<case>/param_<name>.npy    initializers            (float32 '<f4' or int64 '<i8')
    fixtures/onnx/<case>/output_<name>.npy   onnxruntime's outputs   (float32, C order, '<f4')
    fixtures/onnx/manifest.json              a precise description of every case

Everything is deterministic: each case draws its numbers from its own numpy Generator seeded
with (SEED, crc32(case name)), so adding or removing a case changes no other case.

Usage (installs nothing; see scripts/requirements-fixtures.txt):

    pip install -r scripts/requirements-fixtures.txt
    python3 scripts/make_onnx_fixtures.py [--out fixtures/onnx]
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SEED = 20240917
MANIFEST_FORMAT = 1
ATOL = 1e-5  # consumers: |ours - theirs| <= ATOL * (1 + |theirs|)
PINNED = {"onnx": "1.19.1", "onnxruntime": "1.23.2"}

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def f32(v):
    """The exact value of v rounded to float32, as a Python float (exact in JSON)."""
    return float(np.float32(v))


class Case:
    def __init__(self, name, kind, op, opset, description):
        assert _NAME_RE.match(name), name
        self.name = name
        self.kind = kind          # "op" | "pattern" | "network"
        self.op = op
        self.opset = opset
        self.description = description
        self.rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
        self.inputs = []          # (name, array)
        self.params = []          # (name, array)
        self.nodes = []           # dicts
        self.outputs = []         # names

    # -- random data ------------------------------------------------------------------------
    def randn(self, *shape, scale=1.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, lo, hi, *shape):
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    def weight(self, *shape, fan_in=None):
        """He-style initialisation so activations stay O(1) through small networks."""
        if fan_in is None:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        return self.randn(*shape, scale=float(np.sqrt(2.0 / max(fan_in, 1))))

    # -- graph building ---------------------------------------------------------------------
    def input(self, name, array):
        array = np.array(array, dtype=np.float32, order="C")
        self.inputs.append((name, array))
        return name

    def param(self, name, array, dtype=np.float32):
        array = np.array(array, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        self.params.append((name, array))
        return name

    def node(self, op_type, inputs, outputs, name=None, **attrs):
        if isinstance(outputs, str):
            outputs = [outputs]
        if name is None:
            name = "%s_%d" % (op_type.lower(), len(self.nodes))
        self.nodes.append({"op_type": op_type, "name": name, "inputs": list(inputs),
                           "outputs": list(outputs), "attributes": attrs})
        return outputs[0]

    def output(self, name):
        self.outputs.append(name)

    # BatchNormalization with realistic inference statistics.
    def bn(self, x, y, c, prefix, epsilon=1e-5):
        g = self.param(prefix + "_scale", self.uniform(0.5, 1.5, c))
        b = self.param(prefix + "_bias", self.randn(c, scale=0.2))
        m = self.param(prefix + "_mean", self.randn(c, scale=0.5))
        v = self.param(prefix + "_var", self.uniform(0.1, 3.0, c))
        return self.node("BatchNormalization", [x, g, b, m, v], y, name=prefix,
                         epsilon=epsilon, momentum=0.9)

    def conv(self, x, y, cin, cout, k, prefix, stride=1, pad=None, group=1, bias=True):
        if pad is None:
            pad = k // 2
        w = self.param(prefix + "_W", self.weight(cout, cin // group, k, k))
        ins = [x, w]
        if bias:
            ins.append(self.param(prefix + "_B", self.randn(cout, scale=0.1)))
        return self.node("Conv", ins, y, name=prefix, kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4, dilations=[1, 1], group=group)


# ------------------------------------------------------------------------------------------
# ONNX model construction and execution
# ------------------------------------------------------------------------------------------

def _onnx_attr_value(v):
    if isinstance(v, float):
        return f32(v)
    if isinstance(v, (list, tuple)) and v and isinstance(v[0], float):
        return [f32(e) for e in v]
    return v


def build_model(case, output_shapes):
    nodes = []
    for n in case.nodes:
        attrs = {k: _onnx_attr_value(v) for k, v in n["attributes"].items()}
        nodes.append(helper.make_node(n["op_type"], n["inputs"], n["outputs"], name=n["name"], **attrs))
    inputs = [helper.make_tensor_value_info(nm, TensorProto.FLOAT, list(a.shape)) for nm, a in case.inputs]
    outputs = [helper.make_tensor_value_info(nm, TensorProto.FLOAT, list(output_shapes[nm]))
               for nm in case.outputs]
    inits = [numpy_helper.from_array(a, nm) for nm, a in case.params]
    graph = helper.make_graph(nodes, case.name, inputs, outputs, inits)
    opset = helper.make_opsetid("", case.opset)
    model = helper.make_model(graph, opset_imports=[opset], producer_name="cnnconv-fixtures",
                              producer_version="1")
    model.ir_version = helper.find_min_ir_version_for([opset])
    return model


def run_ort(model_bytes, feeds):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def infer_output_shapes(case):
    """Shapes of the graph outputs from onnx's strict shape inference."""
    model = build_model(case, {nm: [] for nm in case.outputs})
    for o in model.graph.output:
        o.type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                                 data_prop=True)
    shapes = {}
    for vi in list(inferred.graph.output) + list(inferred.graph.value_info):
        if vi.name in case.outputs and vi.type.tensor_type.HasField("shape"):
            dims = vi.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                shapes[vi.name] = [d.dim_value for d in dims]
    return shapes


# ------------------------------------------------------------------------------------------
# The cases
# ------------------------------------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def single(name, op, description, opset=17, kind="op"):
    return Case(name, kind, op, opset, description)


# ---- Conv ----------------------------------------------------------------------------------

def conv_case(name, description, n, cin, hw, cout, k, strides, pads, dilations, group, bias=True,
              explicit=True):
    c = single(name, "Conv", description)
    x = c.input("x", c.randn(n, cin, *hw))
    w = c.param("W", c.weight(cout, cin // group, *k))
    ins = [x, w]
    if bias:
        ins.append(c.param("B", c.randn(cout, scale=0.5)))
    attrs = {"kernel_shape": list(k)}
    if explicit:
        attrs.update(strides=list(strides), pads=list(pads), dilations=list(dilations), group=group)
    else:  # leave ONNX defaults implicit where they hold
        if list(strides) != [1, 1]:
            attrs["strides"] = list(strides)
        if any(pads):
            attrs["pads"] = list(pads)
        if list(dilations) != [1, 1]:
            attrs["dilations"] = list(dilations)
        if group != 1:
            attrs["group"] = group
    c.node("Conv", ins, "y", **attrs)
    c.output("y")
    return c


@case
def _():
    yield conv_case("conv_3x3_s1_p1", "3x3 stride 1 pad 1, bias", 1, 3, (8, 8), 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    yield conv_case("conv_3x3_s1_p1_nobias_b2", "3x3 stride 1 pad 1, no bias, batch 2", 2, 3, (8, 8), 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, bias=False)
    yield conv_case("conv_3x3_s2_p1", "3x3 stride 2 pad 1 on an odd 7x5 input", 1, 3, (7, 5), 4, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1)
    yield conv_case("conv_k2_s3", "kernel 2, stride 3 (stride larger than kernel), no pad, 8x7", 1, 2, (8, 7), 3, (2, 2), (3, 3), (0, 0, 0, 0), (1, 1), 1)
    yield conv_case("conv_3x3_dil2", "3x3 dilation 2 pad 2", 1, 3, (8, 8), 4, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1)
    yield conv_case("conv_3x3_pads_asym", "3x3 asymmetric pads [top=0,left=1,bottom=2,right=1], 5x7", 1, 3, (5, 7), 4, (3, 3), (1, 1), (0, 1, 2, 1), (1, 1), 1)
    yield conv_case("conv_3x3_group2", "3x3 groups 2 (4 in, 6 out)", 1, 4, (6, 6), 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2)
    yield conv_case("conv_dw_3x3_b2", "depthwise 3x3 (groups = C = 6), batch 2", 2, 6, (6, 5), 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 6)
    yield conv_case("conv_dw_3x3_s2_mult2", "depthwise 3x3 stride 2, channel multiplier 2 (groups 3, 3 in, 6 out), no bias", 1, 3, (7, 7), 6, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 3, bias=False)
    yield conv_case("conv_1x1", "1x1, defaults left implicit (only kernel_shape set)", 1, 5, (4, 6), 3, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, explicit=False)
    yield conv_case("conv_1x1_nobias_b2", "1x1 no bias batch 2", 2, 4, (3, 3), 8, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, bias=False)
    yield conv_case("conv_3x5_odd", "non-square kernel 3x5, stride [2,1], pads [1,2,1,2], 7x5 input", 1, 2, (7, 5), 3, (3, 5), (2, 1), (1, 2, 1, 2), (1, 1), 1)
    # auto_pad SAME_UPPER: an importer must turn it into explicit pads.
    c = single("conv_auto_pad_same_upper", "Conv", "3x3 stride 2 with auto_pad=SAME_UPPER on 6x5; total pad per axis = "
               "max((ceil(in/s)-1)*s+k-in, 0), the odd pixel goes at the end")
    x = c.input("x", c.randn(1, 2, 6, 5))
    w = c.param("W", c.weight(3, 2, 3, 3))
    b = c.param("B", c.randn(3, scale=0.5))
    c.node("Conv", [x, w, b], "y", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    c.output("y")
    yield c


# ---- ConvTranspose -----------------------------------------------------------------------

def convt_case(name, description, n, cin, hw, cout, k, strides, pads, dilations, group, output_padding=None,
               bias=True):
    c = single(name, "ConvTranspose", description)
    x = c.input("x", c.randn(n, cin, *hw))
    # ConvTranspose weight: [C_in, C_out/group, kH, kW]
    w = c.param("W", c.weight(cin, cout // group, *k, fan_in=cin // group * k[0] * k[1]))
    ins = [x, w]
    if bias:
        ins.append(c.param("B", c.randn(cout, scale=0.5)))
    attrs = dict(kernel_shape=list(k), strides=list(strides), pads=list(pads), dilations=list(dilations),
                 group=group)
    if output_padding is not None:
        attrs["output_padding"] = list(output_padding)
    c.node("ConvTranspose", ins, "y", **attrs)
    c.output("y")
    return c


@case
def _():
    yield convt_case("convt_3x3_s2_p1_op1", "3x3 stride 2 pad 1 output_padding 1 (exact 2x upsampling)", 1, 4, (4, 5), 3, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1, output_padding=(1, 1))
    yield convt_case("convt_2x2_s2_nobias_b2", "2x2 stride 2 no pad, no bias, batch 2", 2, 3, (3, 4), 2, (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 1, bias=False)
    yield convt_case("convt_3x3_group2", "3x3 stride 1 pad 1 groups 2, 4 in 6 out (W [4,3,3,3])", 1, 4, (5, 5), 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2)
    yield convt_case("convt_4x4_s2_p1_group2", "4x4 stride 2 pad 1 groups 2, 6 in 4 out (W [6,2,4,4])", 1, 6, (3, 4), 4, (4, 4), (2, 2), (1, 1, 1, 1), (1, 1), 2)
    yield convt_case("convt_3x3_pads_asym", "3x3 stride 2 asymmetric pads [0,1,1,2]", 1, 2, (4, 4), 3, (3, 3), (2, 2), (0, 1, 1, 2), (1, 1), 1)
    yield convt_case("convt_3x3_dil2", "3x3 stride 1 dilation 2 pad 1", 1, 3, (4, 5), 2, (3, 3), (1, 1), (1, 1, 1, 1), (2, 2), 1)
    yield convt_case("convt_3x3_s2_dil2_op1", "3x3 stride 2 dilation 2 pad 2 output_padding 1", 1, 2, (3, 3), 2, (3, 3), (2, 2), (2, 2, 2, 2), (2, 2), 1, output_padding=(1, 1))


# ---- BatchNormalization / Dropout ----------------------------------------------------------

@case
def _():
    for name, eps, n, ch, hw in [("batchnorm_eps1e-5_b2", 1e-5, 2, 4, (5, 7)),
                                 ("batchnorm_eps1e-3", 1e-3, 1, 6, (4, 4))]:
        c = single(name, "BatchNormalization", "inference BatchNormalization, epsilon %g, running var in [0.1,3], nonzero mean" % eps)
        x = c.input("x", c.randn(n, ch, *hw, scale=1.5) + 0.3)
        c.bn(x, "y", ch, "bn", epsilon=eps)
        c.nodes[-1]["name"] = "batchnorm"
        c.output("y")
        yield c

    c = single("dropout_ratio0.5", "Dropout", "Dropout in inference mode (ratio 0.5 as an initializer, training_mode absent): identity")
    x = c.input("x", c.randn(1, 3, 4, 5))
    r = c.param("ratio", np.array(0.5, np.float32))
    c.node("Dropout", [x, r], "y")
    c.output("y")
    yield c

    c = single("dropout_training_false_b2", "Dropout", "Dropout with ratio 0.5 and training_mode=false given as a bool initializer: identity")
    x = c.input("x", c.randn(2, 6))
    r = c.param("ratio", np.array(0.5, np.float32))
    t = c.param("training_mode", np.array(False), dtype=np.bool_)
    c.node("Dropout", [x, r, t], "y")
    c.output("y")
    yield c


# ---- Activations -------------------------------------------------------------------------

@case
def _():
    def act(name, op, desc, scale=3.0, shape=(1, 3, 5, 7), **attrs):
        c = single(name, op, desc)
        x = c.input("x", c.randn(*shape, scale=scale))
        c.node(op, [x], "y", **attrs)
        c.output("y")
        return c

    yield act("relu", "Relu", "Relu")
    yield act("leakyrelu_0.1_b2", "LeakyRelu", "LeakyRelu alpha 0.1, batch 2", shape=(2, 3, 4, 4), alpha=0.1)
    yield act("sigmoid", "Sigmoid", "Sigmoid")
    yield act("tanh", "Tanh", "Tanh")
    yield act("hardsigmoid_0.2_0.5", "HardSigmoid", "HardSigmoid alpha 0.2 beta 0.5 (ONNX default)", alpha=0.2, beta=0.5)
    yield act("hardsigmoid_1_6_0.5", "HardSigmoid", "HardSigmoid alpha 1/6 (float32) beta 0.5 (PyTorch's hardsigmoid)", scale=4.0, alpha=1.0 / 6.0, beta=0.5)
    yield act("hardswish", "HardSwish", "HardSwish x*max(0,min(1,x/6+0.5))", scale=4.0)

    for name, lo, hi in [("clip_0_6", 0.0, 6.0), ("clip_m1_2", -1.0, 2.0)]:
        c = single(name, "Clip", "Clip(%g, %g), opset 17: min and max are scalar initializer inputs" % (lo, hi))
        x = c.input("x", c.randn(1, 3, 5, 7, scale=4.0) + 1.0)
        mn = c.param("min", np.array(lo, np.float32))
        mx = c.param("max", np.array(hi, np.float32))
        c.node("Clip", [x, mn, mx], "y")
        c.output("y")
        yield c

    c = single("clip_min_only_0", "Clip", "Clip with min 0 and the max input omitted (\"\"): Relu", kind="op")
    x = c.input("x", c.randn(1, 2, 3, 4, scale=3.0))
    mn = c.param("min", np.array(0.0, np.float32))
    c.node("Clip", [x, mn], "y")
    c.output("y")
    yield c

    c = single("silu_mul_sigmoid", "SiLU", "SiLU as Mul(x, Sigmoid(x))", kind="pattern")
    x = c.input("x", c.randn(2, 3, 4, 5, scale=3.0))
    s = c.node("Sigmoid", [x], "sig")
    c.node("Mul", [x, s], "y")
    c.output("y")
    yield c


# ---- Pooling -----------------------------------------------------------------------------

@case
def _():
    def pool(name, op, desc, shape, **attrs):
        c = single(name, op, desc)
        x = c.input("x", c.randn(*shape))
        c.node(op, [x], "y", **attrs)
        c.output("y")
        return c

    for op, p in [("MaxPool", "maxpool"), ("AveragePool", "avgpool")]:
        extra = {"count_include_pad": 0} if op == "AveragePool" else {}
        yield pool(p + "_k3_s2_p1", op, op + " 3x3 stride 2 pad 1 on 8x8", (1, 3, 8, 8), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], **extra)
        yield pool(p + "_k2_s2_b2", op, op + " 2x2 stride 2 on an odd 7x5 input (last row dropped), batch 2", (2, 2, 7, 5), kernel_shape=[2, 2], strides=[2, 2])
        yield pool(p + "_k3_s2_ceil", op, op + " 3x3 stride 2 ceil_mode 1 on 8x8 (4x4 out; floor would give 3x3)", (1, 2, 8, 8), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, **extra)
        yield pool(p + "_k3_s2_p1_ceil", op, op + " 3x3 stride 2 pad 1 ceil_mode 1 on 6x7", (1, 2, 6, 7), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, **extra)
        yield pool(p + "_k3_pads_asym", op, op + " 3x3 stride 1 asymmetric pads [0,1,2,1] on 5x7", (1, 2, 5, 7), kernel_shape=[3, 3], strides=[1, 1], pads=[0, 1, 2, 1], **extra)
    yield pool("avgpool_k3_s2_p1_incpad", "AveragePool", "AveragePool 3x3 stride 2 pad 1 count_include_pad 1 on 8x8", (1, 3, 8, 8), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    yield pool("avgpool_k3_pads_asym_incpad", "AveragePool", "AveragePool 3x3 stride 1 asymmetric pads [0,1,2,1] count_include_pad 1 on 5x7", (1, 2, 5, 7), kernel_shape=[3, 3], strides=[1, 1], pads=[0, 1, 2, 1], count_include_pad=1)
    # ceil_mode + count_include_pad: the last window can run past the padded input. The divisor
    # counts only taps inside the padded input (PyTorch, onnx.reference, ONNX spec). onnxruntime
    # implements that only for AveragePool-19+; its opset<19 kernel divides by the full kernel
    # (microsoft/onnxruntime#16203, fixed for opset 19 by #16752). So these cases use opset 19.
    c = pool("avgpool_k3_s2_p1_ceil_incpad_opset19", "AveragePool", "AveragePool-19 3x3 stride 2 pad 1 ceil_mode 1 count_include_pad 1 on 6x7: "
             "the last row of windows runs past the padded input; divisor = taps inside the padded input (6 on that row, not 9)",
             (1, 2, 6, 7), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)
    c.opset = 19
    yield c
    c = pool("avgpool_k2_s3_ceil_incpad_opset19", "AveragePool", "AveragePool-19 2x2 stride 3 no pads ceil_mode 1 count_include_pad 1 on 7x7 "
             "(PyTorch's default count_include_pad=True): the last window covers 1 row/column; divisor = taps inside the input",
             (1, 1, 7, 7), kernel_shape=[2, 2], strides=[3, 3], ceil_mode=1, count_include_pad=1)
    c.opset = 19
    yield c
    yield pool("maxpool_k3_dil2", "MaxPool", "MaxPool 3x3 dilation 2 stride 1 on 8x8", (1, 2, 8, 8), kernel_shape=[3, 3], strides=[1, 1], dilations=[2, 2])

    for op, p in [("GlobalAveragePool", "globalavgpool"), ("GlobalMaxPool", "globalmaxpool")]:
        yield pool(p + "_b2", op, op + " on 5x7, batch 2", (2, 3, 5, 7))


# ---- Shape ops, Gemm, element-wise -------------------------------------------------------

@case
def _():
    c = single("flatten_axis1_b2", "Flatten", "Flatten axis 1: [2,3,4,5] -> [2,60]")
    x = c.input("x", c.randn(2, 3, 4, 5))
    c.node("Flatten", [x], "y", axis=1)
    c.output("y")
    yield c

    for name, n, bias in [("gemm_transb_bias_b2", 2, True), ("gemm_transb_nobias", 1, False)]:
        c = single(name, "Gemm", "Gemm transB=1 (Linear: y = x W^T + b), W [6,10]" + ("" if bias else ", no C input"))
        x = c.input("x", c.randn(n, 10))
        w = c.param("W", c.weight(6, 10))
        ins = [x, w]
        if bias:
            ins.append(c.param("B", c.randn(6, scale=0.5)))
        c.node("Gemm", ins, "y", alpha=1.0, beta=1.0, transA=0, transB=1)
        c.output("y")
        yield c

    c = single("add_2_inputs_b2", "Add", "Add of two [2,3,4,5] inputs")
    a = c.input("a", c.randn(2, 3, 4, 5))
    b = c.input("b", c.randn(2, 3, 4, 5))
    c.node("Add", [a, b], "y")
    c.output("y")
    yield c

    c = single("sum_3_inputs", "Sum", "Sum of three [1,3,5,7] inputs")
    ins = [c.input(nm, c.randn(1, 3, 5, 7)) for nm in ("a", "b", "c")]
    c.node("Sum", ins, "y")
    c.output("y")
    yield c

    c = single("mul_broadcast_nc11_b2", "Mul", "Mul [2,4,1,1] * [2,4,5,7] (per-sample per-channel broadcast)")
    s = c.input("s", c.randn(2, 4, 1, 1))
    x = c.input("x", c.randn(2, 4, 5, 7))
    c.node("Mul", [s, x], "y")
    c.output("y")
    yield c

    c = single("concat_axis1", "Concat", "Concat axis 1 of [1,2,4,5] and [1,3,4,5]")
    a = c.input("a", c.randn(1, 2, 4, 5))
    b = c.input("b", c.randn(1, 3, 4, 5))
    c.node("Concat", [a, b], "y", axis=1)
    c.output("y")
    yield c

    c = single("softmax_axis1_b2", "Softmax", "Softmax axis 1 on [2,10]")
    x = c.input("x", c.randn(2, 10, scale=3.0))
    c.node("Softmax", [x], "y", axis=1)
    c.output("y")
    yield c


# ---- Normalizations ----------------------------------------------------------------------

@case
def _():
    c = single("instancenorm_b2", "InstanceNormalization", "InstanceNormalization epsilon 1e-5, [2,3,5,7]")
    x = c.input("x", c.randn(2, 3, 5, 7, scale=2.0) + 0.5)
    s = c.param("scale", c.uniform(0.5, 1.5, 3))
    b = c.param("B", c.randn(3, scale=0.3))
    c.node("InstanceNormalization", [x, s, b], "y", epsilon=1e-5)
    c.output("y")
    yield c

    c = single("layernorm_axis_m1", "LayerNormalization", "LayerNormalization axis -1 on NCHW [2,3,4,5]: normalize over W, scale/B shape [5]")
    x = c.input("x", c.randn(2, 3, 4, 5, scale=2.0) + 0.5)
    s = c.param("scale", c.uniform(0.5, 1.5, 5))
    b = c.param("B", c.randn(5, scale=0.3))
    c.node("LayerNormalization", [x, s, b], "y", axis=-1, epsilon=1e-5)
    c.output("y")
    yield c

    c = single("layernorm_axis1", "LayerNormalization", "LayerNormalization axis 1 on NCHW [2,3,4,5]: normalize over C,H,W, scale/B shape [3,4,5]")
    x = c.input("x", c.randn(2, 3, 4, 5, scale=2.0) + 0.5)
    s = c.param("scale", c.uniform(0.5, 1.5, 3, 4, 5))
    b = c.param("B", c.randn(3, 4, 5, scale=0.3))
    c.node("LayerNormalization", [x, s, b], "y", axis=1, epsilon=1e-5)
    c.output("y")
    yield c

    c = Case("groupnorm_g2_opset21_b2", "op", "GroupNormalization", 21,
             "GroupNormalization opset 21: num_groups 2 over 6 channels, scale/bias per CHANNEL [6], epsilon 1e-5")
    x = c.input("x", c.randn(2, 6, 4, 5, scale=2.0) + 0.5)
    s = c.param("scale", c.uniform(0.5, 1.5, 6))
    b = c.param("bias", c.randn(6, scale=0.3))
    c.node("GroupNormalization", [x, s, b], "y", num_groups=2, epsilon=1e-5)
    c.output("y")
    yield c

    c = Case("groupnorm_g1_opset21", "op", "GroupNormalization", 21,
             "GroupNormalization opset 21: num_groups 1 (LayerNorm over C,H,W with per-channel affine), epsilon 1e-3")
    x = c.input("x", c.randn(1, 4, 3, 5, scale=2.0))
    s = c.param("scale", c.uniform(0.5, 1.5, 4))
    b = c.param("bias", c.randn(4, scale=0.3))
    c.node("GroupNormalization", [x, s, b], "y", num_groups=1, epsilon=1e-3)
    c.output("y")
    yield c

    for name, size in [("lrn_size5", 5), ("lrn_size3", 3)]:
        c = single(name, "LRN", "LRN size %d alpha 1e-4 beta 0.75 bias 1 over 7 channels (values scaled x10 so the sum matters)" % size)
        x = c.input("x", c.randn(1, 7, 4, 5, scale=10.0))
        c.node("LRN", [x], "y", size=size, alpha=1e-4, beta=0.75, bias=1.0)
        c.output("y")
        yield c


# ---- Channel shuffle ---------------------------------------------------------------------

@case
def _():
    c = single("channel_shuffle_g2", "ChannelShuffle", "channel shuffle groups 2 as Reshape [1,2,3,4,5] - Transpose [0,2,1,3,4] - Reshape [1,6,4,5] (explicit shapes)", kind="pattern")
    x = c.input("x", c.randn(1, 6, 4, 5))
    s1 = c.param("shape1", [1, 2, 3, 4, 5], dtype=np.int64)
    s2 = c.param("shape2", [1, 6, 4, 5], dtype=np.int64)
    c.node("Reshape", [x, s1], "r1")
    c.node("Transpose", ["r1"], "t", perm=[0, 2, 1, 3, 4])
    c.node("Reshape", ["t", s2], "y")
    c.output("y")
    yield c

    c = single("channel_shuffle_g4_b2", "ChannelShuffle", "channel shuffle groups 4 on [2,8,3,4] as Reshape [0,4,2,3,4] (0 = copy batch) - Transpose [0,2,1,3,4] - Reshape [0,-1,3,4]", kind="pattern")
    x = c.input("x", c.randn(2, 8, 3, 4))
    s1 = c.param("shape1", [0, 4, 2, 3, 4], dtype=np.int64)
    s2 = c.param("shape2", [0, -1, 3, 4], dtype=np.int64)
    c.node("Reshape", [x, s1], "r1")
    c.node("Transpose", ["r1"], "t", perm=[0, 2, 1, 3, 4])
    c.node("Reshape", ["t", s2], "y")
    c.output("y")
    yield c


# ---- Resize ------------------------------------------------------------------------------

@case
def _():
    def resize(name, desc, shape, scale, **attrs):
        c = single(name, "Resize", desc)
        x = c.input("x", c.randn(*shape))
        sc = c.param("scales", [1.0, 1.0, scale, scale])
        c.node("Resize", [x, "", sc], "y", **attrs)
        c.output("y")
        return c

    yield resize("resize_nearest_asym_floor_x2", "nearest, asymmetric, floor, scale 2 (PyTorch nn.Upsample nearest)", (1, 2, 4, 5), 2.0,
                 mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    yield resize("resize_nearest_halfpixel_rpf_x2_b2", "nearest, half_pixel, round_prefer_floor, scale 2, batch 2", (2, 2, 4, 5), 2.0,
                 mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor")
    yield resize("resize_nearest_halfpixel_rpf_x1.5", "nearest, half_pixel, round_prefer_floor, scale 1.5 on 5x7 -> 7x10 (floor(in*scale)); "
                 "coordinates use the GIVEN scale 1.5, not out/in", (1, 1, 5, 7), 1.5,
                 mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor")
    for ctm in ["half_pixel", "align_corners", "pytorch_half_pixel", "asymmetric"]:
        yield resize("resize_linear_%s_x2" % ctm, "linear (bilinear), %s, scale 2" % ctm, (1, 2, 4, 5), 2.0,
                     mode="linear", coordinate_transformation_mode=ctm)
    yield resize("resize_linear_half_pixel_x1.5", "linear, half_pixel, scale 1.5 on 5x7 -> 7x10; coordinates use the given scale", (1, 1, 5, 7), 1.5,
                 mode="linear", coordinate_transformation_mode="half_pixel")
    yield resize("resize_linear_pytorch_half_pixel_to1", "linear, pytorch_half_pixel, scale 0.25 on 4x4 -> 1x1 (the output-length-1 rule: x_original = 0)", (1, 2, 4, 4), 0.25,
                 mode="linear", coordinate_transformation_mode="pytorch_half_pixel")


# ---- Small networks ----------------------------------------------------------------------

@case
def _():
    # conv-BN-relu-maxpool-conv-BN-relu-GAP-flatten-dropout-gemm-softmax
    c = Case("net_small_classifier_b2", "network", "network", 17,
             "Conv3x3(3->8,bias)-BN-Relu-MaxPool2x2-Conv3x3(8->16,no bias)-BN-Relu-GlobalAveragePool-Flatten-Dropout(0.5)-Gemm(16->10, transB)-Softmax, batch 2, 12x12")
    x = c.input("x", c.randn(2, 3, 12, 12))
    c.conv(x, "c1", 3, 8, 3, "conv1")
    c.bn("c1", "b1", 8, "bn1")
    c.node("Relu", ["b1"], "r1", name="relu1")
    c.node("MaxPool", ["r1"], "p1", name="pool1", kernel_shape=[2, 2], strides=[2, 2])
    c.conv("p1", "c2", 8, 16, 3, "conv2", bias=False)
    c.bn("c2", "b2", 16, "bn2", epsilon=1e-3)
    c.node("Relu", ["b2"], "r2", name="relu2")
    c.node("GlobalAveragePool", ["r2"], "g", name="gap")
    c.node("Flatten", ["g"], "f", name="flatten", axis=1)
    c.param("drop_ratio", np.array(0.5, np.float32))
    c.node("Dropout", ["f", "drop_ratio"], "d", name="dropout")
    c.param("fc_W", c.weight(10, 16))
    c.param("fc_B", c.randn(10, scale=0.1))
    c.node("Gemm", ["d", "fc_W", "fc_B"], "logits", name="fc", alpha=1.0, beta=1.0, transB=1)
    c.node("Softmax", ["logits"], "prob", name="softmax", axis=1)
    c.output("prob")
    yield c

    c = Case("net_resnet_basic_block", "network", "network", 17,
             "ResNet basic block: Conv3x3-BN-Relu-Conv3x3-BN, Add identity, Relu; 8 channels 8x8")
    x = c.input("x", c.randn(1, 8, 8, 8))
    c.conv(x, "c1", 8, 8, 3, "conv1", bias=False)
    c.bn("c1", "b1", 8, "bn1")
    c.node("Relu", ["b1"], "r1", name="relu1")
    c.conv("r1", "c2", 8, 8, 3, "conv2", bias=False)
    c.bn("c2", "b2", 8, "bn2")
    c.node("Add", ["b2", x], "s", name="add")
    c.node("Relu", ["s"], "y", name="relu_out")
    c.output("y")
    yield c

    c = Case("net_resnet_downsample_block_b2", "network", "network", 17,
             "ResNet basic block with stride 2 and a projection shortcut (Conv1x1 s2 - BN); 4->8 channels, 7x7 input, batch 2")
    x = c.input("x", c.randn(2, 4, 7, 7))
    c.conv(x, "c1", 4, 8, 3, "conv1", stride=2, bias=False)
    c.bn("c1", "b1", 8, "bn1")
    c.node("Relu", ["b1"], "r1", name="relu1")
    c.conv("r1", "c2", 8, 8, 3, "conv2", bias=False)
    c.bn("c2", "b2", 8, "bn2")
    c.conv(x, "sc", 4, 8, 1, "down_conv", stride=2, pad=0, bias=False)
    c.bn("sc", "scb", 8, "down_bn")
    c.node("Add", ["b2", "scb"], "s", name="add")
    c.node("Relu", ["s"], "y", name="relu_out")
    c.output("y")
    yield c

    c = Case("net_mbv2_inverted_residual_se", "network", "network", 17,
             "MobileNetV2 inverted residual with squeeze-and-excitation: Conv1x1 expand 8->24 - BN - Clip(0,6) - depthwise Conv3x3 - BN - Clip(0,6) - "
             "SE(GlobalAveragePool - Conv1x1 24->8 - Relu - Conv1x1 8->24 - HardSigmoid(1/6,0.5) - Mul) - Conv1x1 project 24->8 - BN - Add identity; 8x8")
    x = c.input("x", c.randn(1, 8, 8, 8))
    c.param("clip_min", np.array(0.0, np.float32))
    c.param("clip_max", np.array(6.0, np.float32))
    c.conv(x, "e", 8, 24, 1, "expand_conv", bias=False)
    c.bn("e", "eb", 24, "expand_bn")
    c.node("Clip", ["eb", "clip_min", "clip_max"], "er", name="expand_relu6")
    c.conv("er", "d", 24, 24, 3, "dw_conv", group=24, bias=False)
    c.bn("d", "db", 24, "dw_bn")
    c.node("Clip", ["db", "clip_min", "clip_max"], "dr", name="dw_relu6")
    c.node("GlobalAveragePool", ["dr"], "se_pool", name="se_gap")
    c.conv("se_pool", "se_r", 24, 8, 1, "se_reduce")
    c.node("Relu", ["se_r"], "se_rr", name="se_relu")
    c.conv("se_rr", "se_e", 8, 24, 1, "se_expand")
    c.node("HardSigmoid", ["se_e"], "se_gate", name="se_hsigmoid", alpha=1.0 / 6.0, beta=0.5)
    c.node("Mul", ["dr", "se_gate"], "se_out", name="se_mul")
    c.conv("se_out", "p", 24, 8, 1, "project_conv", bias=False)
    c.bn("p", "pb", 8, "project_bn")
    c.node("Add", ["pb", x], "y", name="residual_add")
    c.output("y")
    yield c


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------

def json_attr(v):
    if isinstance(v, float):
        return f32(v)
    if isinstance(v, (list, tuple)):
        return [json_attr(e) for e in v]
    return v


def save_npy(path, array):
    array = np.array(array, order="C")
    if array.dtype == np.float32:
        array = array.astype("<f4", copy=False)
    elif array.dtype == np.int64:
        array = array.astype("<i8", copy=False)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=(1, 0), allow_pickle=False)


DTYPE_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64", np.dtype(np.bool_): "bool"}


def tensor_entry(name, array, file):
    e = {"name": name, "dtype": DTYPE_NAMES[array.dtype], "shape": list(array.shape), "file": file}
    if array.size <= 8 and array.dtype != np.float32:
        e["value"] = [bool(v) if array.dtype == np.bool_ else int(v) for v in array.reshape(-1)]
    elif array.size <= 8:
        e["value"] = [float(v) for v in array.reshape(-1)]
    return e


def file_stem(prefix, name):
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return "%s_%s.npy" % (prefix, stem)


def make_case(c, out_dir):
    # 1. output shapes from shape inference; 2. build; 3. check; 4. run; 5. compare shapes.
    shapes = infer_output_shapes(c)
    missing = [o for o in c.outputs if o not in shapes]
    if missing:
        # onnx's shape inference does not see through some function ops (GroupNormalization-21):
        # take the shape onnxruntime produces; the checker below then validates the whole model.
        probe = build_model(c, {nm: [] for nm in c.outputs})
        for o in probe.graph.output:
            o.type.tensor_type.ClearField("shape")
        got = run_ort(probe.SerializeToString(deterministic=True), {nm: a for nm, a in c.inputs})
        for nm in missing:
            shapes[nm] = list(got[nm].shape)
    model = build_model(c, shapes)
    onnx.checker.check_model(model, full_check=True)
    model_bytes = model.SerializeToString(deterministic=True)
    feeds = {nm: a for nm, a in c.inputs}
    results = run_ort(model_bytes, feeds)
    again = run_ort(model_bytes, feeds)
    for nm in c.outputs:
        r = results[nm]
        if list(r.shape) != list(shapes[nm]):
            raise RuntimeError("%s: onnxruntime output %s has shape %s, shape inference said %s"
                               % (c.name, nm, list(r.shape), shapes[nm]))
        if r.dtype != np.float32 or not np.all(np.isfinite(r)):
            raise RuntimeError("%s: output %s is not finite float32" % (c.name, nm))
        if r.tobytes() != again[nm].tobytes():
            raise RuntimeError("%s: onnxruntime output %s differs bitwise between two runs" % (c.name, nm))

    case_dir = os.path.join(out_dir, c.name)
    os.makedirs(case_dir)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(model_bytes)
    entry = {
        "name": c.name,
        "kind": c.kind,
        "op": c.op,
        "opset": c.opset,
        "ir_version": model.ir_version,
        "description": c.description,
        "model": c.name + "/model.onnx",
    }
    if len(c.nodes) == 1:
        entry["attributes"] = {k: json_attr(v) for k, v in sorted(c.nodes[0]["attributes"].items())}
    entry["inputs"] = []
    for nm, a in c.inputs:
        fn = file_stem("input", nm)
        save_npy(os.path.join(case_dir, fn), a)
        entry["inputs"].append(tensor_entry(nm, a, c.name + "/" + fn))
    entry["params"] = []
    for nm, a in c.params:
        fn = file_stem("param", nm)
        save_npy(os.path.join(case_dir, fn), a)
        entry["params"].append(tensor_entry(nm, a, c.name + "/" + fn))
    entry["outputs"] = []
    for nm in c.outputs:
        fn = file_stem("output", nm)
        save_npy(os.path.join(case_dir, fn), results[nm])
        entry["outputs"].append(tensor_entry(nm, results[nm], c.name + "/" + fn))
    entry["nodes"] = [{"op_type": n["op_type"], "name": n["name"], "inputs": n["inputs"],
                       "outputs": n["outputs"],
                       "attributes": {k: json_attr(v) for k, v in sorted(n["attributes"].items())}}
                      for n in c.nodes]
    return entry


# ------------------------------------------------------------------------------------------
# A second, independent oracle: a float64 numpy implementation driven ONLY by manifest.json and
# the .npy files (no ONNX parsing). Every written case must agree with onnxruntime under the
# fixtures' tolerance rule, which also proves the manifest is complete enough to rebuild each
# graph. It is deliberately naive (loops, float64); it is not used to produce any file.
# ------------------------------------------------------------------------------------------

def _ref_conv(x, W, B, a):
    k = a.get("kernel_shape", list(W.shape[2:])); s = a.get("strides", [1,1]); d = a.get("dilations", [1,1]); g = a.get("group", 1)
    N, C, H, Wd = x.shape
    if a.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0]*4
        for i, n in enumerate((H, Wd)):
            out = -(-n // s[i]); tot = max((out-1)*s[i] + (k[i]-1)*d[i] + 1 - n, 0)
            lo = tot//2 if a["auto_pad"] == "SAME_UPPER" else tot - tot//2
            pads[i] = lo; pads[i+2] = tot - lo
    else:
        pads = a.get("pads", [0]*4)
    xp = np.pad(x, ((0,0),(0,0),(pads[0],pads[2]),(pads[1],pads[3])))
    M = W.shape[0]; cg = C//g; mg = M//g
    Ho = (xp.shape[2] - ((k[0]-1)*d[0]+1))//s[0] + 1; Wo = (xp.shape[3] - ((k[1]-1)*d[1]+1))//s[1] + 1
    y = np.zeros((N, M, Ho, Wo))
    for oc in range(M):
        gi = oc // mg
        for i in range(k[0]):
            for j in range(k[1]):
                patch = xp[:, gi*cg:(gi+1)*cg, i*d[0]: i*d[0]+s[0]*(Ho-1)+1: s[0], j*d[1]: j*d[1]+s[1]*(Wo-1)+1: s[1]]
                y[:, oc] += np.einsum("nchw,c->nhw", patch, W[oc, :, i, j])
        if B is not None: y[:, oc] += B[oc]
    return y

def _ref_convt(x, W, B, a):
    k = a["kernel_shape"]; s = a.get("strides",[1,1]); d = a.get("dilations",[1,1]); g = a.get("group",1)
    p = a.get("pads",[0]*4); op = a.get("output_padding",[0,0])
    N, C, H, Wd = x.shape; cg = C//g; mg = W.shape[1]; M = mg*g
    full = [(H-1)*s[0] + (k[0]-1)*d[0] + 1 + op[0], (Wd-1)*s[1] + (k[1]-1)*d[1] + 1 + op[1]]
    yf = np.zeros((N, M, full[0], full[1]))
    for ic in range(C):
        gi = ic // cg
        for i in range(k[0]):
            for j in range(k[1]):
                yf[:, gi*mg:(gi+1)*mg, i*d[0]: i*d[0]+s[0]*(H-1)+1: s[0], j*d[1]: j*d[1]+s[1]*(Wd-1)+1: s[1]] += \
                    x[:, ic][:, None] * W[ic, :, i, j][None, :, None, None]
    y = yf[:, :, p[0]: full[0]-p[2], p[1]: full[1]-p[3]]
    if B is not None: y = y + B.reshape(1,-1,1,1)
    return y

def _ref_pool(x, a, kind):
    k = a["kernel_shape"]; s = a.get("strides",[1,1]); p = a.get("pads",[0]*4); d = a.get("dilations",[1,1])
    ceil = a.get("ceil_mode",0); cip = a.get("count_include_pad",0)
    N, C, H, Wd = x.shape
    outs = []
    for ax, n in enumerate((H, Wd)):
        ek = (k[ax]-1)*d[ax]+1; num = n + p[ax] + p[ax+2] - ek
        o = (-(-num // s[ax]) if ceil else num // s[ax]) + 1
        if ceil and (o-1)*s[ax] >= n + p[ax]: o -= 1   # windows starting in the right padding are dropped
        outs.append(o)
    y = np.zeros((N, C, outs[0], outs[1]))
    for oh in range(outs[0]):
        for ow in range(outs[1]):
            hs = oh*s[0]-p[0]; ws = ow*s[1]-p[1]
            hi = [hs+i*d[0] for i in range(k[0])]; wi = [ws+j*d[1] for j in range(k[1])]
            hv = [h for h in hi if 0 <= h < H]; wv = [w for w in wi if 0 <= w < Wd]
            win = x[:, :, hv][:, :, :, wv]
            if kind == "max": y[:, :, oh, ow] = win.max(axis=(2,3))
            else:
                if cip:
                    # count positions inside the padded input [-p_begin, n + p_end)
                    hc = len([h for h in hi if -p[0] <= h < H + p[2]]); wc = len([w for w in wi if -p[1] <= w < Wd + p[3]])
                    cnt = hc*wc
                else: cnt = len(hv)*len(wv)
                y[:, :, oh, ow] = win.sum(axis=(2,3)) / cnt
    return y

def _ref_resize(x, scales, a):
    mode = a.get("mode","nearest"); ctm = a.get("coordinate_transformation_mode","half_pixel"); nm = a.get("nearest_mode","round_prefer_floor")
    y = x
    for ax in (2, 3):
        n = y.shape[ax]; sc = float(np.float32(scales[ax])); o = int(math.floor(n*sc))
        xr = np.arange(o, dtype=np.float64)
        if ctm == "half_pixel": xo = (xr+0.5)/sc - 0.5
        elif ctm == "pytorch_half_pixel": xo = (xr+0.5)/sc - 0.5 if o > 1 else np.zeros_like(xr)
        elif ctm == "align_corners": xo = xr*(n-1)/(o-1) if o > 1 else np.zeros_like(xr)
        elif ctm == "asymmetric": xo = xr/sc
        if mode == "nearest":
            if nm == "floor": idx = np.floor(xo)
            elif nm == "round_prefer_floor": idx = np.where(xo - np.floor(xo) == 0.5, np.floor(xo), np.round(xo))
            idx = np.clip(idx, 0, n-1).astype(int)
            y = np.take(y, idx, axis=ax)
        else:
            xo = np.clip(xo, 0, n-1); i0 = np.floor(xo).astype(int); i1 = np.minimum(i0+1, n-1); f = xo - i0
            sh = [1]*4; sh[ax] = -1
            y = np.take(y, i0, axis=ax)*(1-f.reshape(sh)) + np.take(y, i1, axis=ax)*f.reshape(sh)
    return y

def _ref_run(root, c):
    env = {}
    for t in c["inputs"] + c["params"]:
        env[t["name"]] = np.load(os.path.join(root, t["file"])).astype(np.float64) if t["dtype"] != "int64" else np.load(os.path.join(root, t["file"]))
    env[""] = None
    for n in c["nodes"]:
        op = n["op_type"]; a = n["attributes"]; I = [env[i] for i in n["inputs"]]; x = I[0]
        if op == "Conv": y = _ref_conv(x, I[1], I[2] if len(I) > 2 else None, a)
        elif op == "ConvTranspose": y = _ref_convt(x, I[1], I[2] if len(I) > 2 else None, a)
        elif op == "BatchNormalization":
            sh = (1,-1) + (1,)*(x.ndim-2); y = (x - I[3].reshape(sh))/np.sqrt(I[4].reshape(sh) + a.get("epsilon",1e-5))*I[1].reshape(sh) + I[2].reshape(sh)
        elif op == "Dropout": y = x
        elif op == "Relu": y = np.maximum(x, 0)
        elif op == "LeakyRelu": y = np.where(x >= 0, x, a["alpha"]*x)
        elif op == "Sigmoid": y = 1/(1+np.exp(-x))
        elif op == "Tanh": y = np.tanh(x)
        elif op == "HardSigmoid": y = np.clip(a.get("alpha",0.2)*x + a.get("beta",0.5), 0, 1)
        elif op == "HardSwish": y = x*np.clip(x/6+0.5, 0, 1)
        elif op == "Clip":
            lo = I[1] if len(I) > 1 and I[1] is not None else -np.inf; hi = I[2] if len(I) > 2 and I[2] is not None else np.inf
            y = np.minimum(np.maximum(x, lo), hi)
        elif op == "Mul": y = I[0]*I[1]
        elif op == "Add": y = I[0]+I[1]
        elif op == "Sum": y = sum(I)
        elif op == "MaxPool": y = _ref_pool(x, a, "max")
        elif op == "AveragePool": y = _ref_pool(x, a, "avg")
        elif op == "GlobalAveragePool": y = x.mean(axis=(2,3), keepdims=True)
        elif op == "GlobalMaxPool": y = x.max(axis=(2,3), keepdims=True)
        elif op == "Flatten": ax = a.get("axis",1); y = x.reshape(int(np.prod(x.shape[:ax])), -1)
        elif op == "Gemm":
            A = x.T if a.get("transA",0) else x; Bm = I[1].T if a.get("transB",0) else I[1]
            y = a.get("alpha",1.0)*A@Bm + (a.get("beta",1.0)*I[2] if len(I) > 2 else 0)
        elif op == "Concat": y = np.concatenate(I, axis=a["axis"])
        elif op == "Softmax": e = np.exp(x - x.max(axis=a["axis"], keepdims=True)); y = e/e.sum(axis=a["axis"], keepdims=True)
        elif op == "InstanceNormalization":
            mu = x.mean(axis=(2,3), keepdims=True); v = x.var(axis=(2,3), keepdims=True)
            y = (x-mu)/np.sqrt(v+a.get("epsilon",1e-5))*I[1].reshape(1,-1,1,1) + I[2].reshape(1,-1,1,1)
        elif op == "LayerNormalization":
            ax = a.get("axis",-1) % x.ndim; axes = tuple(range(ax, x.ndim))
            mu = x.mean(axis=axes, keepdims=True); v = x.var(axis=axes, keepdims=True)
            y = (x-mu)/np.sqrt(v+a.get("epsilon",1e-5))*I[1] + I[2]
        elif op == "GroupNormalization":
            g = a["num_groups"]; N, C = x.shape[:2]; xr = x.reshape(N, g, -1)
            xn = ((xr - xr.mean(-1, keepdims=True))/np.sqrt(xr.var(-1, keepdims=True)+a.get("epsilon",1e-5))).reshape(x.shape)
            y = xn*I[1].reshape(1,-1,1,1) + I[2].reshape(1,-1,1,1)
        elif op == "LRN":
            size = a["size"]; C = x.shape[1]; sq = x**2; acc = np.zeros_like(x)
            for ch in range(C):
                lo = max(0, ch - (size-1)//2); hi = min(C-1, ch + int(math.ceil((size-1)/2)))
                acc[:, ch] = sq[:, lo:hi+1].sum(axis=1)
            y = x/(a.get("bias",1.0) + a.get("alpha",1e-4)/size*acc)**a.get("beta",0.75)
        elif op == "Reshape":
            shp = [x.shape[i] if v == 0 else int(v) for i, v in enumerate(I[1])]; y = x.reshape(shp)
        elif op == "Transpose": y = x.transpose(a["perm"])
        elif op == "Resize": y = _ref_resize(x, I[2], a)
        else: raise NotImplementedError(op)
        env[n["outputs"][0]] = y
    worst = 0.0
    for t in c["outputs"]:
        theirs = np.load(os.path.join(root, t["file"])).astype(np.float64); ours = env[t["name"]]
        assert list(ours.shape) == t["shape"] == list(theirs.shape), (c["name"], ours.shape, t["shape"])
        worst = max(worst, float((np.abs(ours-theirs)/(1+np.abs(theirs))).max()))
    return worst


def self_check(out_dir):
    with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as f:
        m = json.load(f)
    failures = []
    for c in m["cases"]:
        try:
            worst = _ref_run(out_dir, c)
        except Exception as e:  # an op the reference lacks is a failure too
            failures.append("%s: %r" % (c["name"], e))
            continue
        if not worst <= m["tolerance"]["atol"]:
            failures.append("%s: max |ref64 - ort|/(1+|ort|) = %.3g" % (c["name"], worst))
    return failures


_FLAT_LIST_RE = re.compile(r"\[\s*((?:[-+0-9.eE]+|true|false|\"[^\"\[\]{}]*\")(?:,\s*(?:[-+0-9.eE]+|true|false|\"[^\"\[\]{}]*\"))*)\s*\]")


def compact_json(obj):
    """Indented JSON with lists of scalars kept on one line (readable diffs, small file)."""
    text = json.dumps(obj, indent=1, ensure_ascii=True)
    return _FLAT_LIST_RE.sub(lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "..", "fixtures", "onnx"),
                    help="output folder (default: fixtures/onnx next to this script)")
    ap.add_argument("--allow-other-versions", action="store_true",
                    help="do not refuse to run with onnx/onnxruntime versions other than the pinned ones")
    args = ap.parse_args(argv)

    have = {"onnx": onnx.__version__, "onnxruntime": ort.__version__}
    if have != PINNED and not args.allow_other_versions:
        print("make_onnx_fixtures: need %s, found %s (pip install -r scripts/requirements-fixtures.txt, "
              "or pass --allow-other-versions)" % (PINNED, have), file=sys.stderr)
        return 2

    out_dir = os.path.normpath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    # Remove what a previous run wrote (case folders and the manifest); keep README.md.
    for entry in sorted(os.listdir(out_dir)):
        p = os.path.join(out_dir, entry)
        if os.path.isdir(p) and os.path.exists(os.path.join(p, "model.onnx")):
            shutil.rmtree(p)
    if os.path.exists(os.path.join(out_dir, "manifest.json")):
        os.remove(os.path.join(out_dir, "manifest.json"))

    cases = [c for gen in CASES for c in gen()]
    names = [c.name for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RuntimeError("duplicate case names: %s" % dup)

    entries = [make_case(c, out_dir) for c in cases]
    manifest = {
        "format": MANIFEST_FORMAT,
        "generator": "scripts/make_onnx_fixtures.py",
        "seed": SEED,
        "versions": {"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__},
        "onnxruntime_settings": {"providers": ["CPUExecutionProvider"], "graph_optimization_level": "ORT_DISABLE_ALL",
                                 "intra_op_num_threads": 1},
        "tolerance": {"rule": "abs(ours - theirs) <= atol * (1 + abs(theirs))", "atol": ATOL},
        "cases": entries,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(compact_json(manifest))
        f.write("\n")

    total = 0
    for root, _, files in os.walk(out_dir):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    failures = self_check(out_dir)
    if failures:
        for f in failures:
            print("make_onnx_fixtures: float64 reference disagrees with onnxruntime: " + f, file=sys.stderr)
        return 1
    print("wrote %d cases to %s (%.1f KiB); all agree with the float64 numpy reference"
          % (len(entries), out_dir, total / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
