#!/usr/bin/env bash
# Builds cnnconv-bench (release) and times our executor against onnxruntime (same thread count).
# Without arguments: the issue-13 table — scripts/make_zoo_models.py's ResNet-18, ResNet-50 and
# MobileNetV2 (written to $ZOO, default /tmp/cnnconv-zoo, when missing) × batch 1 and 8 × 1 and 2
# threads, with the CPU model, core count and load average. With arguments, they go to bench.py
# (--zoo DIR, --models, --batches 1,8, --threads 1,2, --repeat N, --rounds R, --variant bn|folded
# for the built-in ResNets, --baseline-binary PATH to time a second build in the same rounds, --json).
# $PYTHON must have onnxruntime, onnx and numpy (default: /work/venv's if present, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build-bench}"
PYTHON="${PYTHON:-$( [ -x /work/venv/bin/python ] && echo /work/venv/bin/python || echo python3 )}"
swift build -c release --scratch-path "$SCRATCH" --product cnnconv-bench >&2
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ $# -eq 0 ]; then
    set -- --zoo "${ZOO:-/tmp/cnnconv-zoo}" --batches 1,8 --threads 1,2 --repeat 10 --rounds 1
fi
exec "$PYTHON" Benchmarks/bench.py --binary "$SCRATCH/release/cnnconv-bench" "$@"
