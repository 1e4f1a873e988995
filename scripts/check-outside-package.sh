#!/usr/bin/env bash
# Builds examples/outside-package — a package outside the source tree that depends on cnnconv by
# path and imports the CNNConvKit product — in a scratch copy, and runs its ten-line fold-and-
# verify program on a fixture. Fails if the library cannot be depended on or the fold fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R examples/outside-package "$work/outside"
# The copy lives elsewhere: point its dependency at this checkout.
sed -i "s|path: \"../..\"|path: \"$root\"|" "$work/outside/Package.swift"
swift build --package-path "$work/outside" --scratch-path "$work/build" 2>&1 | tail -3
out=$("$work/build/debug/fold-and-verify" fixtures/mixed_ops.cnnm "$work/folded.cnnm")
echo "$out"
grep -q "BatchNorm left: 0 · verified: true" <<< "$out"
[ -s "$work/folded.cnnm" ]
echo "outside package: ok"
