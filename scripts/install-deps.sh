#!/usr/bin/env bash
# Installs the Debian packages cnnconv builds against, if missing (needs root or sudo).
#   zlib1g-dev        CZlib: deflate for the format
#   libdeflate-dev    CDeflate: fast CRC-32 and inflate for the format
#   libopenblas-dev   CBLAS: the executor's GEMM
#   libdnnl-dev       CDNNL: oneDNN, the executor's Float32 convolutions
#   libprotobuf-c-dev CCNNLoader: the C loader's header parsing
#   pkg-config, make  SwiftPM's zlib lookup; the C loader's standalone build
#   protobuf-compiler, protobuf-c-compiler  scripts/check-generated.sh (regenerates and compares)
set -euo pipefail
packages=(zlib1g-dev libdeflate-dev libopenblas-dev libdnnl-dev libprotobuf-c-dev pkg-config make protobuf-compiler protobuf-c-compiler)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.1 or newer" >&2; exit 1; }
