#!/usr/bin/env bash
# The main job on the bundled model: inspect it. Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product cnnconv >&2
bin="$(swift build -c release --show-bin-path)/cnnconv"
model=${1:-fixtures/small_cnn.cnnm}
"$bin" inspect "$model"
