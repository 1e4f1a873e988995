#!/usr/bin/env python3
"""Copies the ONNX backend node tests that are in cnnconv's scope into fixtures/onnx-node.

The onnx wheel ships one folder per node test (onnx/backend/test/data/node/<test>/: model.onnx,
test_data_set_0/input_*.pb, output_*.pb). A test is in scope when ALL of these hold (the rule is
this code; nothing is picked by hand):

  1. op:       its op is in DOMAIN (issue #11's list, the ops cnnconv already imported, LSTM/GRU). A
               single-node test's op is its node's op_type; a test named <base>_expanded[_verN]
               (an op written out as its function body) takes the op of <base>, and every node in
               it must be in DOMAIN or SHAPE_HELPERS (constants and shape arithmetic an importer
               folds). Any other multi-node test needs every node in DOMAIN.
  2. dtypes:   every graph output is float32 or float64; every run-time input (see roles) is
               float32 or float64; constant inputs may be any numeric type (int64 axes, shapes,
               indices...). float16/bfloat16/float8/string anywhere in the I/O: out.
  3. training: no training-mode randomness or statistics: no "training" in the name, no
               training_mode=1 attribute, no Dropout fed a training_mode input.
  4. spatial:  conv and pool ops (CONV_POOL) see at most a 4-D (NCHW, 2-D spatial) input.

Roles (written to the manifest so the Swift test needs no rule of its own): a graph input is
"runtime" (fed to the executor) unless every node reading it reads it in a parameter slot
(PARAM_SLOTS: weights, biases, normalisation statistics, Clip bounds, Pad/Resize arguments, as
exporters write them: initializers) or it is not a float tensor (shapes, axes, indices, repeats,
splits: attribute-like constants). An _expanded test takes the roles of the op it expands. "constant" inputs are turned into initializers by the test.

Writes fixtures/onnx-node/<test>/ (copied as is) and fixtures/onnx-node/manifest.json:
  {"source": ..., "onnx_version": ..., "rule": ..., "tests": [{"name", "op", "opset", "why",
   "inputs": [{"name", "file", "dtype", "shape", "role"}], "outputs": [{"name", "file", "dtype", "shape"}]}]}

Usage: python3 scripts/select_onnx_node_tests.py [OUT_DIR]   (default fixtures/onnx-node)
Needs only the onnx package (1.19.1 here). Rerunning replaces OUT_DIR's test folders.
"""
import json
import os
import re
import shutil
import sys

import onnx
from onnx import TensorProto, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fixtures", "onnx-node")
SRC = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")

ISSUE_11 = {
    "Slice", "Split", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Expand", "Gather", "Concat", "Pad", "Tile",
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Sqrt", "Exp", "Log", "Abs", "Neg",
    "Reciprocal", "Erf", "Softplus", "Mish", "Gelu", "PRelu", "Elu", "Selu", "MatMul", "Gemm", "ReduceMean",
    "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "Softmax", "LogSoftmax", "LayerNormalization", "Cast",
    "ConvTranspose", "Clip",
}
CNN_BEFORE = {
    "Conv", "BatchNormalization", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "MaxPool",
    "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "InstanceNormalization", "GroupNormalization",
    "LRN", "Resize", "Upsample", "Identity", "Dropout",
}
RECURRENT = {"LSTM", "GRU"}
DOMAIN = ISSUE_11 | CNN_BEFORE | RECURRENT
SHAPE_HELPERS = {"Constant", "ConstantOfShape", "Shape", "Size", "CastLike", "Range"}
CONV_POOL = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
FLOATS = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64"}
# Input positions that hold parameters (initializers in an exported model), by op.
PARAM_SLOTS = {
    "Conv": {1, 2}, "ConvTranspose": {1, 2}, "BatchNormalization": {1, 2, 3, 4}, "InstanceNormalization": {1, 2},
    "LayerNormalization": {1, 2}, "GroupNormalization": {1, 2}, "PRelu": {1}, "Gemm": {1, 2}, "Clip": {1, 2},
    "Pad": {1, 2, 3}, "Resize": {1, 2, 3}, "Upsample": {1}, "Dropout": {1, 2},
    "LSTM": {1, 2, 3, 7}, "GRU": {1, 2, 3},
}
EXPANDED = re.compile(r"^(.*)_expanded(_ver\d+)?$")


def dtype_name(t):
    return FLOATS.get(t) or TensorProto.DataType.Name(t).lower()


def single_op(test):
    m = onnx.load(os.path.join(SRC, test, "model.onnx"), load_external_data=False)
    ops = {n.op_type for n in m.graph.node}
    return ops.pop() if len(ops) == 1 else None


def classify(test):
    """(op, why) when in scope, (op, None, reason) otherwise."""
    model = onnx.load(os.path.join(SRC, test, "model.onnx"), load_external_data=False)
    g = model.graph
    ops = [n.op_type for n in g.node]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    m = EXPANDED.match(test)
    if len(set(ops)) == 1:
        op = ops[0]
        if op not in DOMAIN:
            return op, None, f"op {op} not in the domain"
        why = [f"single {op} node" if len(ops) == 1 else f"{len(ops)} {op} nodes"]
    elif m and os.path.isdir(os.path.join(SRC, m.group(1))):
        op = single_op(m.group(1)) or "?"
        extra = sorted(set(ops) - DOMAIN - SHAPE_HELPERS)
        if op not in DOMAIN or extra:
            return op, None, f"expanded {op}: ops outside the domain {extra}" if extra else f"op {op} not in the domain"
        why = [f"{op} written as its function body ({len(ops)} nodes: {', '.join(sorted(set(ops)))})"]
    else:
        extra = sorted(set(ops) - DOMAIN)
        if extra:
            return "+".join(sorted(set(ops))), None, f"ops outside the domain {extra}"
        op = "+".join(sorted(set(ops)))
        why = [f"{len(ops)} nodes, all in the domain"]
    if "training" in test:
        return op, None, "training mode"
    for n in g.node:
        for a in n.attribute:
            if a.name == "training_mode" and a.i == 1:
                return op, None, "training_mode=1"
        if n.op_type == "Dropout" and len(n.input) > 2 and n.input[2]:
            return op, None, "Dropout with a training_mode input"

    # Roles of the graph inputs.
    init = {t.name for t in g.initializer}
    graph_inputs = [vi for vi in g.input if vi.name not in init]
    # An expanded test takes its roles from the op it expands (same graph inputs, same names).
    role_graph = g
    if m and len(set(ops)) > 1 and os.path.isdir(os.path.join(SRC, m.group(1))):
        role_graph = onnx.load(os.path.join(SRC, m.group(1), "model.onnx"), load_external_data=False).graph
    readers = {}
    for n in role_graph.node:
        for slot, name in enumerate(n.input):
            if name:
                readers.setdefault(name, []).append((n.op_type, slot))
    inputs, outputs = [], []
    data = os.path.join(SRC, test, "test_data_set_0")
    for i, vi in enumerate(graph_inputs):
        t = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            return op, None, f"input {vi.name} is not a tensor"
        is_param = all(slot in PARAM_SLOTS.get(o, set()) for o, slot in readers.get(vi.name, [])) and readers.get(vi.name)
        role = "runtime" if t.elem_type in FLOATS and not is_param else "constant"
        if role == "runtime" and t.elem_type not in FLOATS:
            return op, None, f"run-time input {vi.name} is {dtype_name(t.elem_type)}"
        if t.elem_type in (TensorProto.STRING, TensorProto.FLOAT16, TensorProto.BFLOAT16) or t.elem_type >= 17:
            return op, None, f"input {vi.name} is {dtype_name(t.elem_type)}"
        pb = os.path.join(data, f"input_{i}.pb")
        arr = numpy_helper.to_array(onnx.load_tensor(pb))
        inputs.append({"name": vi.name, "file": f"test_data_set_0/input_{i}.pb", "dtype": dtype_name(t.elem_type),
                       "shape": list(arr.shape), "role": role})
    for i, vi in enumerate(g.output):
        t = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or t.elem_type not in FLOATS:
            return op, None, f"output {vi.name} is not float32/float64"
        arr = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, f"output_{i}.pb")))
        outputs.append({"name": vi.name, "file": f"test_data_set_0/output_{i}.pb", "dtype": dtype_name(t.elem_type),
                        "shape": list(arr.shape)})
    for n in g.node:
        if n.op_type in CONV_POOL:
            x = next((e for e in inputs if e["name"] == n.input[0]), None)
            if x is not None and len(x["shape"]) > 4:
                return op, None, f"{n.op_type} on a {len(x['shape'])}-D input (more than 2-D spatial)"
    why.append("float I/O (" + ", ".join(sorted({e["dtype"] for e in inputs if e["role"] == "runtime"} | {e["dtype"] for e in outputs})) + ")")
    consts = [e["name"] for e in inputs if e["role"] == "constant"]
    if consts:
        why.append("constant inputs " + ", ".join(consts))
    return op, {"name": test, "op": op, "opset": opset, "why": "; ".join(why), "inputs": inputs, "outputs": outputs}, None


def main():
    tests = sorted(d for d in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, d)))
    selected, reasons = [], {}
    for test in tests:
        op, entry, reason = classify(test)
        if entry is not None and not os.path.isdir(os.path.join(SRC, test, "test_data_set_0")):
            entry, reason = None, "no test_data_set_0"
        if entry is None:
            if op in DOMAIN:
                reasons.setdefault(reason.split(" ")[0] if reason.startswith("op ") else reason, []).append(test)
            continue
        selected.append(entry)
    if os.path.isdir(OUT):
        for d in os.listdir(OUT):
            if d.startswith("test_"):
                shutil.rmtree(os.path.join(OUT, d))
    os.makedirs(OUT, exist_ok=True)
    size = 0
    for e in selected:
        dst = os.path.join(OUT, e["name"])
        shutil.copytree(os.path.join(SRC, e["name"]), dst)
        size += sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(dst) for f in fs)
    manifest = {
        "source": "onnx/backend/test/data/node of the onnx wheel",
        "onnx_version": onnx.__version__,
        "rule": "scripts/select_onnx_node_tests.py (op in the domain; float run-time I/O; no training mode; conv/pool at most 4-D)",
        "tolerance": {"rtol": 1e-3, "atol": 1e-7},
        "tests": selected,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"{len(selected)} of {len(tests)} node tests in scope, {size / 1024:.0f} KiB copied to {OUT}")
    ops = {}
    for e in selected:
        ops[e["op"]] = ops.get(e["op"], 0) + 1
    print("by op:", ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    print("tests of domain ops left out:")
    for r, ts in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(ts):3d}  {r}: {', '.join(ts[:4])}{' ...' if len(ts) > 4 else ''}")


if __name__ == "__main__":
    main()
