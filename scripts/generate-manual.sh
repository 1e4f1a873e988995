#!/usr/bin/env bash
# Regenerates docs/man/cnnconv.1 from the command-line parser (swift-argument-parser's
# generate-manual plugin: it builds cnnconv in release mode and reads its --help structure), so
# the man page never drifts from `--help`. About 3 minutes on 2 cores the first time.
#   scripts/generate-manual.sh && man -l docs/man/cnnconv.1
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SCRATCH:-.build-man}
swift package --scratch-path "$scratch" generate-manual --date "${DATE:-$(date -u +%Y-%m-%d)}" >&2
mkdir -p docs/man
cp "$scratch/plugins/GenerateManual/outputs/cnnconv/cnnconv.1" docs/man/cnnconv.1
echo "wrote docs/man/cnnconv.1"
