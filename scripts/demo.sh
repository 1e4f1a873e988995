#!/usr/bin/env bash
# The main job on the bundled trained model: inspect it, fold it, verify the folded model
# against the original on the held-out digits (accuracy before and after, error budget, per
# layer). Installs missing Debian packages first. Writes the folded model to ${OUT:-/tmp}.
#   scripts/demo.sh [MODEL]   (another model is verified on 16 seeded random inputs)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product cnnconv >&2
bin="$(swift build -c release --show-bin-path)/cnnconv"
model=${1:-fixtures/digits/digits_cnn.cnnm}
out="${OUT:-/tmp}/$(basename "${model%.*}").folded.cnnm"
echo "== inspect $model"
"$bin" inspect "$model"
echo
echo "== fold"
"$bin" fold "$model" -o "$out"
echo
echo "== verify: the folded model against the original"
if [[ "$model" == fixtures/digits/*.cnnm ]]; then
    "$bin" verify "$model" "$out" --inputs fixtures/digits/test_images.npy \
        --labels fixtures/digits/test_labels.npy --per-layer
else
    "$bin" verify "$model" "$out" --samples 16 --per-layer
fi
echo
echo "folded model written to $out"
