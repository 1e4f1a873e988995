#!/usr/bin/env bash
# The main job on the bundled model: inspect it, fold it, verify the folded model against it.
# Installs missing Debian packages first. Writes the folded model to ${OUT:-/tmp}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product cnnconv >&2
bin="$(swift build -c release --show-bin-path)/cnnconv"
model=${1:-fixtures/small_cnn.cnnm}
out="${OUT:-/tmp}/$(basename "${model%.*}").folded.cnnm"
echo "== inspect"
"$bin" inspect "$model"
echo
echo "== fold"
"$bin" fold "$model" -o "$out"
echo
echo "== verify (the folded model against the original, per layer)"
"$bin" verify "$model" "$out" --samples 16 --per-layer
echo
echo "folded model: $out"
