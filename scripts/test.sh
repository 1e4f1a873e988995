#!/usr/bin/env bash
# The whole test suite: Swift tests (XCTest and Swift Testing), then the C loader: its
# standalone -Wall -Wextra -Werror build, and cnnm-run on a folded model plus hostile files
# under AddressSanitizer and UndefinedBehaviorSanitizer, `make install` and the pkg-config
# example, then the Python package's pytest suite in a venv it creates (PyPI: numpy, protobuf,
# pytest), the ONNX exports under onnx.checker and onnxruntime (a venv with the pinned onnx and
# onnxruntime from PyPI). Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
swift build --build-tests
swift test --skip-build
echo "== oneDNN convolutions again on oneDNN's AVX2 kernels (nChw8c), whatever the machine's widest ISA"
ONEDNN_MAX_CPU_ISA=AVX2 swift test --skip-build --filter 'OneDNN'
echo "== C loader: -Werror build, then ASan/UBSan on a folded model and hostile files"
bin="$(swift build --show-bin-path)/cnnconv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" fold fixtures/small_cnn.cnnm -o "$work/small_cnn.folded.cnnm"
Sources/CCNNLoader/tools/ci-check.sh "$work/small_cnn.folded.cnnm"
echo "== C library: make install, the pkg-config example against the installed files"
CNNCONV="$bin" Sources/CCNNLoader/tools/install-check.sh
echo "== Python package cnnm (pytest in a virtual environment this script creates)"
scripts/test-python.sh
echo "== ONNX exports of every tensor-op fixture and torch-modern model: onnx.checker (full) and onnxruntime"
CNNCONV="$bin" scripts/check-onnx-round-trips.sh
echo "== a package outside the tree that depends on cnnconv by path (CNNConvKit)"
scripts/check-outside-package.sh
echo "== fuzzing: the .cnnm reader, the ONNX importer and the .npy reader, 30 s each (libFuzzer + ASan)"
Fuzz/ci.sh 30
echo "== generated code: regenerate from the schema and compare with what is committed"
scripts/check-generated.sh
