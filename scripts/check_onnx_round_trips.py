#!/usr/bin/env python3
"""Exports through cnnconv and checks each export with onnx.checker (full check) and onnxruntime.

- Every fixtures/tensor-ops case: `cnnconv import` → `cnnconv export`; onnxruntime on the export
  must reproduce the case's recorded onnxruntime outputs within 1e-5·(1 + |ref|) (or the case's
  tolerance).
- Every fixtures/torch-modern and fixtures/torch-1d model: `cnnconv fold model.onnx -o folded.onnx`
  (no options); the
  export has no BatchNormalization or Dropout, and onnxruntime on it matches torch's recorded
  output within 1e-4·(1 + |ref|).

Usage: check_onnx_round_trips.py CNNCONV WORKDIR     (needs onnx, onnxruntime, numpy)
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"cnnconv {' '.join(args)}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")


def worst(ours, ref):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return float("inf")
    return float(np.max(np.abs(ours - ref) / (1 + np.abs(ref)))) if ref.size else 0.0


def check_model(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model, ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    failures, total = [], 0
    for manifest in sorted(glob.glob(os.path.join(ROOT, "fixtures", "tensor-ops", "*", "manifest.json"))):
        group_dir = os.path.dirname(manifest)
        group = os.path.basename(group_dir)
        for case in json.load(open(manifest))["cases"]:
            total += 1
            name = f"{group}/{case['name']}"
            out = os.path.join(work, f"{group}_{case['name']}")
            try:
                cli(binary, "import", os.path.join(group_dir, case["model"]), "-o", out + ".cnnm")
                try:
                    cli(binary, "export", out + ".cnnm", "-o", out + ".onnx")
                except RuntimeError as e:
                    if case.get("export_refused"):
                        continue
                    raise
                _, sess = check_model(out + ".onnx")
                feeds = {i["name"]: np.load(os.path.join(group_dir, i["file"])) for i in case["inputs"]}
                got = sess.run([o["name"] for o in case["outputs"]], feeds)
                tol = case.get("tolerance", 1e-5)
                for o, y in zip(case["outputs"], got):
                    e = worst(y, np.load(os.path.join(group_dir, o["file"])))
                    if not e <= tol:
                        raise RuntimeError(f"output {o['name']}: |Δ|/(1+|ref|) = {e:.3g} > {tol}")
            except Exception as e:  # one line per failing case, then go on
                failures.append(f"{name}: {e}")
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures", "torch-modern", "*.onnx"))
                       + glob.glob(os.path.join(ROOT, "fixtures", "torch-1d", "*.onnx"))):
        torch_dir = os.path.dirname(path)
        total += 1
        model = os.path.basename(path)[: -len(".onnx")]
        stem = model.split(".")[0]
        out = os.path.join(work, model + ".folded.onnx")
        try:
            cli(binary, "fold", path, "-o", out)
            exported, sess = check_model(out)
            ops = {n.op_type for n in exported.graph.node}
            if ops & {"BatchNormalization", "Dropout"}:
                raise RuntimeError(f"left after folding: {sorted(ops & {'BatchNormalization', 'Dropout'})}")
            x = np.load(os.path.join(torch_dir, stem + ".input.npy"))
            y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
            e = worst(y, np.load(os.path.join(torch_dir, stem + ".output.npy")))
            if not e <= 1e-4:
                raise RuntimeError(f"folded export vs torch: |Δ|/(1+|ref|) = {e:.3g} > 1e-4")
        except Exception as e:
            failures.append(f"{os.path.basename(torch_dir)}/{model}: {e}")
    for f in failures:
        print("FAIL", f)
    print(f"{total - len(failures)}/{total} exports pass onnx.checker (full) and match onnxruntime / torch")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
