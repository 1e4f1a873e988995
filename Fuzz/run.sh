#!/usr/bin/env bash
# Fuzzes the model file reader (CNNFormat + the Graph decoder and validation) with libFuzzer and
# AddressSanitizer for SECONDS (default 60), starting from the fixtures, with a dictionary of the
# format's magic and protobuf field tags. Crashes land in Fuzz/crashes/ (commit them as cases).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address --scratch-path ../.build-fuzz >&2
bin="$(swift build -c release --scratch-path ../.build-fuzz --show-bin-path)/FormatFuzzer"
corpus=$(mktemp -d)
cp ../fixtures/*.cnnm "$corpus"/
[ -d crashes ] && cp crashes/* "$corpus"/ 2>/dev/null || true
mkdir -p crashes
SWIFT_BACKTRACE=enable=no "$bin" "$corpus" -dict=format.dict -max_total_time="$seconds" -max_len=200000 \
    -artifact_prefix=crashes/ -print_final_stats=1
