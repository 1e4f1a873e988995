#!/usr/bin/env bash
# Lints every Swift file in the tree (tracked or new; generated *.pb.swift aside) with the
# committed .swift-format: line length 120, 4 spaces, every public declaration documented (say
# why it exists, not what its name says), and the other rules the file turns on. CI runs it, so
# the tree stays as formatted.
#   scripts/check-format.sh         exit 0 clean, 1 findings, 2 swift-format unavailable
#   FIX=1 scripts/check-format.sh   formats the files in place first (documentation is yours to write)
set -euo pipefail
cd "$(dirname "$0")/.."
swift format --version >/dev/null 2>&1 || { echo "check-format: 'swift format' is not available (Swift >= 6)" >&2; exit 2; }
mapfile -t files < <({ git ls-files -- '*.swift'; git ls-files --others --exclude-standard -- '*.swift'; } \
    | grep -v '\.pb\.swift$' | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${FIX:-0}" = 1 ]; then swift format format --in-place --configuration .swift-format "${files[@]}"; fi
if swift format lint --strict --configuration .swift-format "${files[@]}"; then
    echo "check-format: ${#files[@]} Swift files clean"
else
    echo "check-format: findings above (FIX=1 $0 fixes the layout; write missing doc comments by hand)" >&2
    exit 1
fi
