#!/usr/bin/env bash
# Regenerates the committed protobuf code from schema/*.proto (and ONNX's onnx.proto):
#   Sources/CNNFormat/Generated/cnnmodel.pb.swift   (protoc + protoc-gen-swift)
#   Sources/CCNNLoader/generated/cnnmodel.pb-c.{c,h}   (protoc-c; private to the C library)
#   python/cnnm/cnnmodel_pb2.py   (protoc --python_out; python/regenerate.sh does it alone)
# Needs Debian's protobuf-compiler and protobuf-c-compiler; builds protoc-gen-swift from the
# swift-protobuf package this package depends on (about a minute). Never run by the build or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || apt-get install -y protobuf-compiler
command -v protoc-c >/dev/null || apt-get install -y protobuf-c-compiler libprotobuf-c-dev

swift build -c release --product protoc-gen-swift --scratch-path .build-protoc >/dev/null
plugin="$(swift build -c release --product protoc-gen-swift --scratch-path .build-protoc --show-bin-path)/protoc-gen-swift"

protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Package \
    --swift_out=Sources/CNNFormat/Generated -I schema schema/cnnmodel.proto

if [ -d Sources/CCNNLoader ]; then
    mkdir -p Sources/CCNNLoader/generated
    protoc-c --c_out=Sources/CCNNLoader/generated -I schema schema/cnnmodel.proto
fi

if [ -f schema/onnx.proto ] && [ -d Sources/CNNONNX ]; then
    mkdir -p Sources/CNNONNX/Generated
    protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Package \
        --swift_out=Sources/CNNONNX/Generated -I schema schema/onnx.proto
fi
if [ -x python/regenerate.sh ]; then
    python/regenerate.sh
fi
echo "regenerated"
