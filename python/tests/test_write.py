"""Writing: load → save of a Swift-written file gives its bytes back (every fixture and every
storage format cnnconv writes); files Python writes pass `cnnconv inspect` and the C loader and
read back with the values given; the builder (formerly training/cnnm_writer.py) reproduces the
committed trained models byte for byte."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import cnnm
from conftest import FIXTURES, ROOT


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_load_save_of_a_fixture_is_byte_identical(path, tmp_path):
    out = tmp_path / "copy.cnnm"
    cnnm.save(cnnm.load(path), str(out))
    assert out.read_bytes() == open(path, "rb").read()


def test_every_storage_format_round_trips_byte_identical(folded_variants, tmp_path):
    for variant, path in folded_variants.items():
        out = tmp_path / f"{variant}.cnnm"
        cnnm.save(cnnm.load(path), str(out))
        assert out.read_bytes() == open(path, "rb").read(), variant


def edited(tmp_path):
    """small_cnn with a scaled weight, tensors stored in mixed formats, and new metadata."""
    m = cnnm.load(os.path.join(ROOT, "fixtures", "small_cnn.cnnm"))
    m.tensors["conv1.weight"] = np.asarray(m.tensors["conv1.weight"]) * 2
    formats = [("f32", "raw"), ("f16", "shuffle"), ("bf16", "deflate"), ("f32", "shuffle"), ("f16", "raw")]
    for i, name in enumerate(list(m.tensors)):
        m.storage[name] = cnnm.TensorInfo(*formats[i % len(formats)])
    m.header.metadata["edited_by"] = "python"
    path = str(tmp_path / "edited.cnnm")
    cnnm.save(m, path)
    return m, path


def test_python_written_files_read_back(tmp_path):
    m, path = edited(tmp_path)
    assert os.stat(path).st_mode & 0o777 == 0o644
    again = cnnm.load(path)
    assert again.metadata["edited_by"] == "python"
    assert [n.name for n in again.nodes] == [n.name for n in m.nodes]
    w = np.asarray(m.tensors["conv1.weight"], dtype=np.float32)
    assert np.array_equal(again.tensors["conv1.weight"], w)  # f32 raw: exact
    for name, a in again.tensors.items():
        info = again.tensor_info(name)
        assert (info.dtype, info.encoding) == (m.storage[name].dtype, m.storage[name].encoding)
        assert np.allclose(a, m.tensors[name], rtol=1e-2, atol=1e-6)


def test_python_written_files_pass_cnnconv_inspect(cnnconv, tmp_path):
    _, path = edited(tmp_path)
    done = subprocess.run([cnnconv, "inspect", path], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "checksums ok" in done.stdout


def test_python_written_files_pass_the_c_loader(cnnm_run, tmp_path):
    _, path = edited(tmp_path)
    done = subprocess.run([cnnm_run, "--check", path], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_python_file_folded_by_cnnconv_round_trips(cnnconv, tmp_path):
    """Python → Swift → Python: cnnconv folds a model Python wrote (tensors in mixed storage
    formats) into f16/shuffle; Python reads that and writes the same bytes again."""
    _, python_written = edited(tmp_path)
    swift_folded = str(tmp_path / "swift-from-python.cnnm")
    subprocess.run([cnnconv, "fold", python_written, "-o", swift_folded, "--dtype", "f16", "--compress", "shuffle", "--force"],
                   check=True, capture_output=True)
    again = str(tmp_path / "python-again.cnnm")
    cnnm.save(cnnm.load(swift_folded), again)
    assert open(again, "rb").read() == open(swift_folded, "rb").read()


def test_cnnconv_and_python_write_the_same_bytes_for_resnet_mini(cnnconv, tmp_path):
    """Swift → Python: resnet_mini folded by cnnconv into f16/shuffle, read and written by
    Python: the same bytes (both writers, same content)."""
    swift_folded = str(tmp_path / "swift.cnnm")
    subprocess.run([cnnconv, "fold", os.path.join(ROOT, "fixtures", "resnet_mini.cnnm"), "-o", swift_folded, "--dtype", "f16",
                    "--compress", "shuffle"], check=True, capture_output=True)
    python_copy = str(tmp_path / "python.cnnm")
    cnnm.save(cnnm.load(swift_folded), python_copy)
    assert open(python_copy, "rb").read() == open(swift_folded, "rb").read()


def test_the_builder_reproduces_the_trained_fixtures(tmp_path, monkeypatch):
    """training/train_digits.py's write_model, through training/cnnm_writer.py (now the
    package's builder), on the parameters read from the committed files: the same bytes."""
    sys.path.insert(0, os.path.join(ROOT, "training"))
    import train_digits
    for name, convention in (("digits_cnn", "inverted"), ("digits_cnn_classic", "classic")):
        path = os.path.join(ROOT, "fixtures", "digits", name + ".cnnm")
        m = cnnm.load(path)
        params = {k: np.array(v) for k, v in m.tensors.items() if "running" not in k}
        state = {n.name: {"running_mean": np.array(m.tensors[n.name + ".running_mean"]),
                          "running_var": np.array(m.tensors[n.name + ".running_var"]),
                          "num_batches_tracked": int(n.attributes["num_batches_tracked"])}
                 for n in m.nodes if n.op == "batch_norm"}
        # The producer string names the numpy version that trained it.
        monkeypatch.setattr(train_digits.np, "__version__", re.search(r"numpy (.*)\)", m.producer).group(1))
        out = str(tmp_path / (name + ".cnnm"))
        train_digits.write_model(out, params, state, convention, m.metadata)
        assert open(out, "rb").read() == open(path, "rb").read(), name


def test_save_is_atomic_and_refuses_a_directory(tmp_path):
    m = cnnm.load(os.path.join(ROOT, "fixtures", "small_cnn.cnnm"))
    with pytest.raises(cnnm.FormatError) as e:
        cnnm.save(m, str(tmp_path))
    assert "not a regular file" in str(e.value)
    assert os.listdir(tmp_path) == []  # no temporary file left behind


def test_duplicate_tensor_names_are_refused_on_save(tmp_path):
    m = cnnm.load(os.path.join(ROOT, "fixtures", "small_cnn.cnnm"))
    entries = list(m.tensors.items())
    from cnnm import format as F
    with pytest.raises(cnnm.FormatError, match="two tensors are named 'conv1.weight'"):
        F.serialize(m.header, [(n, a, a.shape, "f32", "raw") for n, a in entries] + [("conv1.weight", entries[0][1], (16, 3, 3, 3), "f32", "raw")])
