#!/usr/bin/env bash
# Lints the Swift files changed since BASE (default: origin/main, else main) with the committed
# .swift-format (line length 120, 4 spaces, every public declaration documented), so that a branch
# is held to the format without reformatting the whole tree at once (which would conflict with
# every branch in flight). Generated code (*.pb.swift) is skipped.
#   scripts/check-format.sh [BASE]        exit 0 clean, 1 findings, 2 usage
#   FIX=1 scripts/check-format.sh [BASE]  formats those files in place first
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-}
if [ -z "$base" ]; then
    for candidate in origin/main main; do
        if git rev-parse --verify -q "$candidate" >/dev/null; then base=$candidate; break; fi
    done
fi
[ -n "$base" ] && git rev-parse --verify -q "$base" >/dev/null || { echo "check-format: no base commit '$base'" >&2; exit 2; }
swift format --version >/dev/null 2>&1 || { echo "check-format: 'swift format' is not available (Swift >= 6)" >&2; exit 2; }
mapfile -t files < <(git diff --name-only --diff-filter=ACMR "$(git merge-base "$base" HEAD)" -- '*.swift' | grep -v '\.pb\.swift$' || true)
# Uncommitted and untracked changes count too: the check is for what is about to be committed.
mapfile -t -O "${#files[@]}" files < <({ git diff --name-only --diff-filter=ACMR -- '*.swift'; git ls-files --others --exclude-standard -- '*.swift'; } | grep -v '\.pb\.swift$' || true)
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u | while read -r f; do [ -n "$f" ] && [ -f "$f" ] && echo "$f"; done)
if [ "${#files[@]}" -eq 0 ]; then echo "check-format: no Swift file changed since $base"; exit 0; fi
if [ "${FIX:-0}" = 1 ]; then swift format format --in-place --configuration .swift-format "${files[@]}"; fi
if swift format lint --strict --configuration .swift-format "${files[@]}"; then
    echo "check-format: ${#files[@]} changed file(s) clean"
else
    echo "check-format: findings in the files changed since $base (FIX=1 $0 formats them)" >&2
    exit 1
fi
