#!/usr/bin/env bash
# The Python package's tests: creates a virtual environment (.venv-ci, ignored by git; VENV=dir
# to put it elsewhere), installs ./python (numpy and protobuf from PyPI) and pytest into it, and
# runs python/tests. Tests that need the built cnnconv binary (`swift build --product cnnconv`)
# or a C compiler for the C loader are skipped when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
python=$(venv_python .venv-ci test-python)
"$python" -m pip install --quiet --upgrade pip >/dev/null
"$python" -m pip install --quiet ./python pytest
cd python/tests
exec "$python" -m pytest -q "$@"
