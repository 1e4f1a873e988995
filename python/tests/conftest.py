"""Shared fixtures: the repository's model files, the built cnnconv binary (tests that need it
are skipped when it is not built: `swift build --product cnnconv`), and the C loader's
cnnm-run, built here with make into a temporary folder."""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = sorted(glob.glob(os.path.join(ROOT, "fixtures", "*.cnnm")) +
                  glob.glob(os.path.join(ROOT, "fixtures", "digits", "*.cnnm")))


def _cnnconv():
    path = os.environ.get("CNNCONV")
    if not path and shutil.which("swift"):
        try:
            bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True,
                                     timeout=120).stdout.strip()
            path = os.path.join(bin_dir, "cnnconv")
        except (OSError, subprocess.SubprocessError):
            path = None
    return path if path and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def cnnconv():
    path = _cnnconv()
    if not path:
        pytest.skip("cnnconv is not built (swift build --product cnnconv, or CNNCONV=path)")
    return path


@pytest.fixture(scope="session")
def cnnm_run(tmp_path_factory):
    """The C loader's command-line tool, built from Sources/CCNNLoader."""
    build = tmp_path_factory.mktemp("cbuild")
    done = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "Sources", "CCNNLoader"), f"BUILD={build}",
                           f"{build}/cnnm-run"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("cannot build the C loader: " + done.stderr[-500:])
    return str(build / "cnnm-run")


@pytest.fixture(scope="session")
def folded_variants(cnnconv, tmp_path_factory):
    """Swift-written files in every storage format: small_cnn folded as f32/f16/bf16 with
    raw/deflate/shuffle encoding, by name "f16-shuffle"."""
    out = tmp_path_factory.mktemp("variants")
    files = {}
    for dtype in ("f32", "f16", "bf16"):
        for compress in ("none", "deflate", "shuffle"):
            path = str(out / f"small_cnn.{dtype}-{compress}.cnnm")
            subprocess.run([cnnconv, "fold", os.path.join(ROOT, "fixtures", "small_cnn.cnnm"), "-o", path, "--dtype", dtype,
                            "--compress", compress, "--force"], check=True, capture_output=True)
            files[f"{dtype}-{'raw' if compress == 'none' else compress}"] = path
    return files
