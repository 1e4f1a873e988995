#!/usr/bin/env bash
# Exports every fixtures/onnx model through cnnconv (import → export, in the CNNONNXTests run) and
# checks each export with onnx.checker (full check) and onnxruntime against the fixture's
# onnxruntime outputs, using scripts/check_exports.py. Needs Python with
# scripts/requirements-fixtures.txt. Not part of `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
CNNCONV_ONNX_EXPORT_DIR="$out" swift test --scratch-path "${SCRATCH:-.build-onnx}" --filter "CNNONNXTests" >/dev/null
python3 - "$out" <<'PY'
import json, subprocess, sys
out = sys.argv[1]
m = json.load(open("fixtures/onnx/manifest.json"))
bad = 0
for c in m["cases"]:
    ins = ",".join(f'{t["name"]}=fixtures/onnx/{t["file"]}' for t in c["inputs"])
    outs = ",".join(f'{t["name"]}=fixtures/onnx/{t["file"]}' for t in c["outputs"])
    r = subprocess.run([sys.executable, "scripts/check_exports.py", f"{out}/{c['name']}.onnx", ins, outs],
                       capture_output=True, text=True)
    if r.returncode != 0:
        bad += 1
        print(c["name"], (r.stdout + r.stderr).strip().splitlines()[-1:])
print(f"{len(m['cases']) - bad}/{len(m['cases'])} exports pass onnx.checker and match onnxruntime")
sys.exit(1 if bad else 0)
PY
