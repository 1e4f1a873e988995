#!/usr/bin/env bash
# Builds cnnconv-bench (release) and times our executor against onnxruntime on ResNet-18 and
# ResNet-50 at 1x3x224x224 with the same thread count. Arguments go to bench.py
# (--threads T, --repeat N, --rounds R, --models resnet18,resnet50, --variant bn|folded, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build-bench}"
swift build -c release --scratch-path "$SCRATCH" --product cnnconv-bench >&2
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)" >&2
exec python3 Benchmarks/bench.py --binary "$SCRATCH/release/cnnconv-bench" "$@"
