#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30): a CI smoke run that fails
# (non-zero exit) when any target finds a crash, a leak of time (-timeout) or of memory
# (-rss_limit_mb). For longer runs use Fuzz/run.sh TARGET SECONDS.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
status=0
for target in format onnx npy; do
    echo "== fuzzing $target for $seconds s" >&2
    if ! ./run.sh "$target" "$seconds"; then
        echo "== $target: libFuzzer reported a failure; the input is in Fuzz/crashes/$target/" >&2
        status=1
    fi
done
exit $status
