#!/usr/bin/env bash
# Fuzzes one reader of untrusted files with libFuzzer and AddressSanitizer for SECONDS (default 60):
#   Fuzz/run.sh [TARGET] [SECONDS] [extra libFuzzer flags…]
# TARGET: format (the model file reader, default), onnx (the ONNX importer), npy (the .npy reader).
# Each starts from the fixtures and a dictionary of its format's magic bytes, field tags and names;
# the corpus it grows is kept in Fuzz/corpus/TARGET (not committed). Crashes land in
# Fuzz/crashes/TARGET/ — commit them, and make each a regression test.
# (Old form, still accepted: Fuzz/run.sh SECONDS fuzzes the model file reader.)
set -euo pipefail
cd "$(dirname "$0")"
target=${1:-format}
if [[ "$target" =~ ^[0-9]+$ ]]; then set -- format "$@"; target=format; fi
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : $# )) || true
case "$target" in
    format) product=FormatFuzzer; dict=format.dict; maxlen=200000 ;;
    onnx) product=ONNXFuzzer; dict=onnx.dict; maxlen=100000 ;;
    npy) product=NPYFuzzer; dict=npy.dict; maxlen=20000 ;;
    *) echo "usage: $0 [format|onnx|npy] [SECONDS] [libFuzzer flags…]" >&2; exit 2 ;;
esac
swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address --scratch-path ../.build-fuzz --product "$product" >&2
bin="$(swift build -c release --scratch-path ../.build-fuzz --show-bin-path)/$product"
corpus=corpus/$target
mkdir -p "$corpus" "crashes/$target"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
case "$target" in
    format) cp ../fixtures/*.cnnm "$seeds"/ ;;
    onnx) for f in ../fixtures/onnx/*/model.onnx ../fixtures/torch/*.onnx; do
              [ -f "$f" ] && cp "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
          done ;;
    npy) for f in ../fixtures/onnx/conv_1x1/*.npy ../fixtures/onnx/gemm_transb_bias_b2/*.npy ../fixtures/torch/*.npy; do
             [ -f "$f" ] && cp "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
         done ;;
esac
cp crashes/"$target"/* "$seeds"/ 2>/dev/null || true
# The first corpus folder collects new inputs; the seeds are read only.
SWIFT_BACKTRACE=enable=no "$bin" "$corpus" "$seeds" -dict="$dict" -max_total_time="$seconds" -max_len="$maxlen" \
    -rss_limit_mb=3072 -timeout=60 -artifact_prefix="crashes/$target/" -print_final_stats=1 "$@"
