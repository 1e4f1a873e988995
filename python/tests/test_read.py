"""Every fixture reads: the graph and tensors are those of the file, raw f32 tensors are
zero-copy views of the mapping, and decoded f16/bf16/deflate/shuffle tensors equal their f32
originals rounded independently here."""
import os
import struct
import zlib

import numpy as np
import pytest

import cnnm
from conftest import FIXTURES, ROOT


def test_there_are_fixtures():
    assert len(FIXTURES) >= 6


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_every_fixture_reads(path):
    m = cnnm.load(path)
    assert m.version == (1, 0)
    assert m.nodes and m.inputs and m.outputs
    raw = open(path, "rb").read()
    header_length, data_offset = struct.unpack_from("<QQ", raw, 24)
    for name, a in m.tensors.items():
        info = m.tensor_info(name)
        assert a.dtype == np.float32 and not a.flags.writeable
        stored = raw[info.file_offset:info.file_offset + info.stored_length]
        assert zlib.crc32(stored) == info.crc32
        if (info.dtype, info.encoding) == ("f32", "raw"):
            # Zero copy: a view of the mapping, 64-byte aligned in it, equal to the file's bytes.
            assert not a.flags.owndata
            assert a.__array_interface__["data"][0] % 64 == 0
            assert np.array_equal(a.reshape(-1), np.frombuffer(stored, dtype="<f4"), equal_nan=True)
    # Every tensor an op names is in the table (the tensors dict), and the reverse.
    named = set()
    for n in m.nodes:
        for key in ("weight", "bias", "scale", "shift", "running_mean", "running_variance"):
            if isinstance(n.attributes.get(key), str) and n.attributes[key]:  # LRN's bias is a number
                named.add(n.attributes[key])
    assert named <= set(m.tensors)


def test_the_graph_reads_as_written():
    m = cnnm.load(os.path.join(ROOT, "fixtures", "small_cnn.cnnm"))
    assert m.name == "small_cnn"
    assert m.inputs[0].shape == ("N", 3, 32, 32)
    conv = m.nodes[0]
    assert conv.op == "conv2d" and conv.attributes["weight"] == "conv1.weight"
    assert m.tensors["conv1.weight"].shape == (16, 3, 3, 3)
    assert m.nodes[0].outputs[0] in m.nodes[1].inputs


@pytest.mark.parametrize("variant", ["f16-raw", "f16-deflate", "f16-shuffle", "bf16-raw", "bf16-deflate",
                                     "bf16-shuffle", "f32-deflate", "f32-shuffle"])
def test_encodings_decode_to_the_rounded_f32_values(folded_variants, variant):
    reference = cnnm.load(folded_variants["f32-raw"])
    m = cnnm.load(folded_variants[variant])
    dtype, encoding = variant.split("-")
    for name, a in m.tensors.items():
        assert m.tensor_info(name) .dtype == dtype and m.tensor_info(name).encoding == encoding
        r = np.asarray(reference.tensors[name], dtype=np.float64)
        if dtype == "f32":
            assert np.array_equal(a, r), name
            continue
        # Each value is representable in the stored type and within half its spacing of the f32
        # original (the fold rounds once, from Float64, so f16(f32(x)) may differ by one ulp).
        if dtype == "f16":
            assert np.array_equal(a.astype(np.float16).astype(np.float32), a), name
            spacing = np.maximum(np.abs(r) * 2.0 ** -10, 2.0 ** -24)
        else:
            assert not np.any(a.view(np.uint32) & 0xFFFF), name
            spacing = np.abs(r) * 2.0 ** -7
        assert np.all(np.abs(a - r) <= spacing / 2 + np.abs(r) * 2.0 ** -24), name  # + the f32 rounding of r


def test_dump_prints_the_tensor_table_and_graph(capsys):
    from cnnm.__main__ import main
    assert main(["dump", os.path.join(ROOT, "fixtures", "mixed_ops.cnnm")]) == 0
    out = capsys.readouterr().out
    assert "conv1.weight" in out and "[16, 3, 3, 3]" in out
    assert "conv_transpose2d" in out and "up4" in out
    assert "nodes: 23" in out and "tensors: 33" in out


def test_dump_of_a_damaged_file_exits_3(tmp_path, capsys):
    from cnnm.__main__ import main
    bad = tmp_path / "bad.cnnm"
    bad.write_bytes(b"hello, world: not a model file at all, but long enough to hold a preamble ......")
    assert main(["dump", str(bad)]) == 3
    assert "not a cnnconv file" in capsys.readouterr().err


def test_python_dash_m_cnnm_dump_runs():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "cnnm", "dump", os.path.join(ROOT, "fixtures", "small_cnn.cnnm")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "small_cnn.cnnm — cnnconv format 1.0" in done.stdout
    done = subprocess.run([sys.executable, "-m", "cnnm", "dump"], capture_output=True, text=True)
    assert done.returncode == 2  # usage
