#!/usr/bin/env python3
"""Writes fixtures/tensor-ops/<group>/: one small ONNX model per tensor-op case, its seeded inputs
and the outputs onnxruntime computes, plus manifest.json (read by
Tests/CNNRuntimeTests/TensorOpOracleTests.swift).

Cases live in scripts/tensor_op_cases/<group>.py: each module defines CASES, a list of
  dict(name=str, nodes=[onnx NodeProto], inputs=[(name, shape)], outputs=[name],
       initializers=[TensorProto] (optional), opset=int (default 17), tolerance=float (optional),
       low=float, high=float (input range, optional), values={name: ndarray} (optional fixed inputs),
       export_refused=str (optional: the model has no ONNX export; the refusal must say this))

Usage: python3 scripts/make_tensor_op_fixtures.py [GROUP ...]   (default: every group)
Same versions and rules as make_onnx_fixtures.py: onnx 1.19.1, onnxruntime 1.23.2, graph
optimizations disabled, one thread; full onnx.checker check; deterministic bytes.
"""
import importlib.util
import json
import os
import shutil
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_DIR = os.path.join(ROOT, "scripts", "tensor_op_cases")
OUT = os.path.join(ROOT, "fixtures", "tensor-ops")
SEED = 20261129


def build(case):
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in case["inputs"]]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in case["outputs"]]
    graph = helper.make_graph(case["nodes"], case["name"], inputs, outputs, case.get("initializers", []))
    opset = case.get("opset", 17)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_tensor_op_fixtures")
    model.ir_version = 8 if opset <= 17 else 9 if opset <= 20 else 10
    # Output shapes come from onnx's strict shape inference (the checker requires them).
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def run_group(group):
    spec = importlib.util.spec_from_file_location(group, os.path.join(CASES_DIR, group + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out_dir = os.path.join(OUT, group)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    manifest = []
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    for case in mod.CASES:
        name = case["name"]
        rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
        model = build(case)
        case_dir = os.path.join(out_dir, name)
        os.makedirs(case_dir)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString(deterministic=True))
        feeds, entries = {}, []
        for i, (n, shape) in enumerate(case["inputs"]):
            fixed = case.get("values", {}).get(n)
            x = fixed.astype(np.float32) if fixed is not None else rng.uniform(case.get("low", -2), case.get("high", 2), size=shape).astype(np.float32)
            feeds[n] = x
            fname = f"{name}/input_{i}.npy"
            np.save(os.path.join(out_dir, fname), x)
            entries.append(dict(name=n, shape=list(x.shape), file=fname))
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        results = sess.run(None, feeds)
        outs = []
        for i, (n, y) in enumerate(zip(case["outputs"], results)):
            y = np.asarray(y, dtype=np.float32)
            fname = f"{name}/output_{i}.npy"
            np.save(os.path.join(out_dir, fname), y)
            outs.append(dict(name=n, shape=list(y.shape), file=fname))
        entry = dict(name=name, model=f"{name}/model.onnx", inputs=entries, outputs=outs)
        if "tolerance" in case:
            entry["tolerance"] = case["tolerance"]
        if "export_refused" in case:
            entry["export_refused"] = case["export_refused"]
        manifest.append(entry)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(dict(cases=manifest), f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{group}: {len(manifest)} cases")


def main():
    groups = sys.argv[1:] or sorted(f[:-3] for f in os.listdir(CASES_DIR) if f.endswith(".py") and not f.startswith("_"))
    for g in groups:
        run_group(g)


if __name__ == "__main__":
    main()
