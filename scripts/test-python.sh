#!/usr/bin/env bash
# The Python package's tests: creates a virtual environment (.venv-ci, ignored by git; VENV=dir
# to put it elsewhere), installs ./python (numpy and protobuf from PyPI) and pytest into it, and
# runs python/tests. Tests that need the built cnnconv binary (`swift build --product cnnconv`)
# or a C compiler for the C loader are skipped when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv-ci}
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "test-python: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$venv/bin/python" -m pip install --quiet ./python pytest
cd python/tests
exec "$venv/bin/python" -m pytest -q "$@"
