#!/usr/bin/env bash
# CI check that the committed generated code is what the schema generates: runs
# scripts/generate-protos.sh (protoc, protoc-gen-swift, protoc-c, the Python _pb2) over the
# work tree and fails if any generated file changed. About 1.5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/generate-protos.sh >/dev/null
paths=(Sources/CNNFormat/Generated Sources/CNNONNX/Generated Sources/CCNNLoader/generated python/cnnm/cnnmodel_pb2.py)
if ! git diff --quiet -- "${paths[@]}"; then
    git diff --stat -- "${paths[@]}" >&2
    echo "check-generated: the committed generated code differs from what scripts/generate-protos.sh writes" >&2
    exit 1
fi
echo "generated code: up to date"
