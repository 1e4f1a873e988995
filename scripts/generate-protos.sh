#!/usr/bin/env bash
# Regenerates the committed protobuf code from schema/*.proto (and ONNX's onnx.proto):
#   Sources/CNNFormat/Generated/cnnmodel.pb.swift   (protoc + protoc-gen-swift)
#   Sources/CCNNLoader/cnnmodel.pb-c.c, include/cnnmodel.pb-c.h   (protoc-c)
# Needs Debian's protobuf-compiler and protobuf-c-compiler; builds protoc-gen-swift from the
# swift-protobuf package this package depends on (about a minute). Never run by the build or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || apt-get install -y protobuf-compiler
command -v protoc-c >/dev/null || apt-get install -y protobuf-c-compiler libprotobuf-c-dev

swift build -c release --product protoc-gen-swift --scratch-path .build-protoc >/dev/null
plugin="$(swift build -c release --product protoc-gen-swift --scratch-path .build-protoc --show-bin-path)/protoc-gen-swift"

protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
    --swift_out=Sources/CNNFormat/Generated -I schema schema/cnnmodel.proto

if [ -d Sources/CCNNLoader ]; then
    tmp=$(mktemp -d)
    protoc-c --c_out="$tmp" -I schema schema/cnnmodel.proto
    mkdir -p Sources/CCNNLoader/include
    mv "$tmp/cnnmodel.pb-c.h" Sources/CCNNLoader/include/
    mv "$tmp/cnnmodel.pb-c.c" Sources/CCNNLoader/
    rmdir "$tmp"
fi

if [ -f schema/onnx.proto ] && [ -d Sources/CNNONNX ]; then
    mkdir -p Sources/CNNONNX/Generated
    protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
        --swift_out=Sources/CNNONNX/Generated -I schema schema/onnx.proto
fi
echo "regenerated"
