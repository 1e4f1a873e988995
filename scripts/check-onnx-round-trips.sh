#!/usr/bin/env bash
# Exports every tensor-op fixture and every fixtures/torch-modern model through the built cnnconv
# and checks the exports with onnx.checker (full check) and onnxruntime
# (scripts/check_onnx_round_trips.py). Creates a venv (.venv-onnx, or $VENV) with the fixture
# scripts' pinned onnx/onnxruntime/numpy from PyPI. CNNCONV=binary to use a given build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
python=$(venv_python .venv-onnx check-onnx-round-trips)
"$python" -c "import onnx, onnxruntime, numpy" 2>/dev/null || "$python" -m pip install --quiet -r scripts/requirements-fixtures.txt
bin=${CNNCONV:-"$(swift build --show-bin-path)/cnnconv"}
[ -x "$bin" ] || swift build --product cnnconv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" scripts/check_onnx_round_trips.py "$bin" "$work"
