#!/usr/bin/env bash
# Builds cnnconv and cnnconv-bench (release), then runs Benchmarks/fold_bench.py: ResNet-50
# file open/touch and `cnnconv fold` against onnxruntime's basic optimization. Needs Python
# with onnxruntime==1.23.2 onnx==1.19.1 (pip install -r scripts/requirements-fixtures.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build-bench}"
# --static-swift-stdlib: the shipped build (README), whose process starts in half the time.
swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product cnnconv >&2
swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product cnnconv-bench >&2
exec python3 Benchmarks/fold_bench.py --cnnconv "$SCRATCH/release/cnnconv" --bench "$SCRATCH/release/cnnconv-bench" "$@"
