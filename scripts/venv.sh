# Sourced by the scripts that need Python packages from PyPI (test-python.sh, test-pypi-models.sh):
#   venv_python DEFAULT_DIR NAME   → prints the venv's python, creating the venv first
# The venv is $VENV when set, else DEFAULT_DIR (relative paths from the repository root; the
# .venv* names are ignored by git). NAME prefixes the error message.
venv_python() {
    local venv=${VENV:-$1}
    case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" >&2 || { echo "$2: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; return 1; }
    fi
    echo "$venv/bin/python"
}
