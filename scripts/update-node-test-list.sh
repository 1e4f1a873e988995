#!/usr/bin/env bash
# Rewrites `knownFailures` in Tests/CNNONNXTests/ONNXNodeConformanceTests.swift from what fails
# now (after `swift build --build-tests`). Review the diff: every removed line is a test that
# passes now, every added line one that started failing.
set -euo pipefail
cd "$(dirname "$0")/.."
file=Tests/CNNONNXTests/ONNXNodeConformanceTests.swift
entries=$(mktemp)
CNNCONV_NODE_TEST_LIST=1 swift test --skip-build --filter ONNXNodeConformanceTests 2>&1 \
    | grep '^KNOWN-FAILURE' | cut -c14- | sort > "$entries" || true
python3 - "$file" "$entries" <<'PY'
import sys
path, entries = sys.argv[1], open(sys.argv[2]).read()
src = open(path).read()
start = src.index("    static let knownFailures: [String: String] = [\n") + len("    static let knownFailures: [String: String] = [\n")
end = src.index("    ]\n", start)
open(path, "w").write(src[:start] + entries + src[end:])
PY
echo "$(wc -l < "$entries") known failures"
