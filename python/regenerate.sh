#!/bin/sh
# Regenerates python/cnnm/cnnmodel_pb2.py from schema/cnnmodel.proto with Debian's protoc
# (protobuf-compiler 3.21.12; the generated code runs on the protobuf package >= 4.21 from PyPI).
# The output is committed; run this after changing the schema (scripts/generate-protos.sh runs it).
set -eu
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || apt-get install -y protobuf-compiler
protoc --python_out=python/cnnm -I schema schema/cnnmodel.proto
echo "regenerated python/cnnm/cnnmodel_pb2.py ($(protoc --version))"
