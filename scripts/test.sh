#!/usr/bin/env bash
# The whole test suite: Swift tests (XCTest and Swift Testing), then the C loader's standalone
# build with -Wall -Wextra -Werror. Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
echo "== C loader: standalone build (-std=c99 -Wall -Wextra -Werror)"
make -s -C Sources/CCNNLoader BUILD="$(mktemp -d)/build" all
echo "C loader: built"
