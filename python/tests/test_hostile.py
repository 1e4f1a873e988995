"""Damaged and hostile files are refused — truncations, bit flips, bad CRCs, and files with
valid checksums around invalid content (so each reaches the check it means) — with the Swift
reader's error, word for word (compared with `cnnconv inspect` when it is built), and the C loader
refuses them too."""
import os
import struct
import subprocess
import zlib

import numpy as np
import pytest

import cnnm
from cnnm import cnnmodel_pb2 as pb
from cnnm import format as F
from conftest import ROOT

SOURCE = os.path.join(ROOT, "fixtures", "small_cnn.cnnm")
ORIGINAL = open(SOURCE, "rb").read()


def parts(image=ORIGINAL):
    """(preamble fields, header message, data section) of a valid image."""
    p = F.Preamble.parse(image, len(image))
    header = pb.Model.FromString(image[64:64 + p.header_length])
    return p, header, image[p.data_offset:]


def assemble(header, data, major=1, minor=0, flags=0, header_bytes=None):
    """An image with correct preamble and header CRCs around whatever header and data given."""
    hb = header.SerializeToString(deterministic=True) if header_bytes is None else header_bytes
    p = F.Preamble(major, minor, len(hb), F.data_offset_for(len(hb)), len(data), zlib.crc32(hb))
    pre = bytearray(p.encoded())
    if flags:
        struct.pack_into("<I", pre, 12, flags)
        struct.pack_into("<I", pre, 56, zlib.crc32(bytes(pre[:56])))
    return bytes(pre) + hb + bytes(p.data_offset - 64 - len(hb)) + data


def fix_preamble_crc(image):
    b = bytearray(image)
    struct.pack_into("<I", b, 56, zlib.crc32(bytes(b[:56])))
    return bytes(b)


def flip(image, offset, bit=0):
    b = bytearray(image)
    b[offset] ^= 1 << bit
    return bytes(b)


def edited_header(edit, data=None):
    _, header, section = parts()
    edit(header)
    return assemble(header, section if data is None else data)


def hostile_files():
    """(name, bytes, expected FormatError kind)."""
    p, header, data = parts()
    files = [
        ("empty", b"", "empty"),
        ("magic-only", ORIGINAL[:8], "tooShort"),
        ("text", b"this is a text file that is long enough to hold a preamble, but it is not a model\n", "badMagic"),
        ("crlf-magic", ORIGINAL[:4] + b"\n" + ORIGINAL[6:], "badMagic"),
        ("trailing-bytes", ORIGINAL + b"\0", "lengthMismatch"),
        ("newer-major", fix_preamble_crc(ORIGINAL[:8] + struct.pack("<H", 2) + ORIGINAL[10:]), "unsupportedMajorVersion"),
        ("flags", assemble(header, data, flags=4), "reservedFieldNotZero"),
        ("header-too-large", fix_preamble_crc(ORIGINAL[:24] + struct.pack("<Q", (256 << 20) + 1) + ORIGINAL[32:]), "headerTooLarge"),
        ("bad-data-offset", fix_preamble_crc(ORIGINAL[:32] + struct.pack("<Q", p.data_offset + 64) + ORIGINAL[40:]), "dataOffsetInvalid"),
        ("header-offset", fix_preamble_crc(ORIGINAL[:16] + struct.pack("<Q", 128) + ORIGINAL[24:]), "headerOffsetInvalid"),
        ("malformed-header", assemble(header, data, header_bytes=b"\x0a\xff\xff\xff\xff\x0f"), "malformedHeader"),
        ("padding-not-zero", None, "paddingNotZero"),
        ("misplaced-tensor", edited_header(lambda h: setattr(h.tensors[1], "offset", h.tensors[1].offset + 64)), "tensorMisplaced"),
        ("duplicate-tensor", edited_header(lambda h: setattr(h.tensors[1], "name", h.tensors[0].name)), "duplicateTensorName"),
        ("unknown-dtype", edited_header(lambda h: setattr(h.tensors[0], "dtype", 9)), "unknownDataType"),
        ("unknown-encoding", edited_header(lambda h: setattr(h.tensors[0], "encoding", 7)), "unknownEncoding"),
        ("too-many-elements", edited_header(lambda h: h.tensors[0].dims.extend([1 << 30, 1 << 30])), "tensorTooLarge"),
        ("elements-overflow", edited_header(lambda h: h.tensors[0].dims.extend([1 << 40, 1 << 40])), "tensorTooLarge"),
        ("wrong-length", edited_header(lambda h: h.tensors[0].dims.append(2)), "tensorLengthMismatch"),
        ("past-the-end", edited_header(lambda h: setattr(h.tensors[-1], "stored_length", h.tensors[-1].stored_length + 4096)),
         "tensorLengthMismatch"),
        ("uncovered-data", edited_header(lambda h: None, data + bytes(64)), "dataSectionUncovered"),
    ]
    # Padding after the header: a non-zero byte with every checksum valid.
    image = bytearray(ORIGINAL)
    pad_start = 64 + p.header_length
    if pad_start < p.data_offset:
        image[p.data_offset - 1] = 1
        files[[f[0] for f in files].index("padding-not-zero")] = ("padding-not-zero", bytes(image), "paddingNotZero")
    else:
        files = [f for f in files if f[0] != "padding-not-zero"]
    # A deflate tensor claiming more than 1032:1, and a corrupt zlib stream with a valid CRC.
    def deflated(claim_elements, stream):
        h = pb.Model()
        h.CopyFrom(header)
        e = h.tensors[-1]
        e.encoding = pb.ENCODING_DEFLATE
        del e.dims[:]
        e.dims.append(claim_elements)
        e.stored_length = len(stream)
        e.crc32 = zlib.crc32(stream)
        start = e.offset
        return assemble(h, data[:start] + stream)
    files.append(("deflate-bomb-claim", deflated(10_000, b"x" * 8), "tensorDecompressedTooLarge"))
    files.append(("corrupt-zlib", deflated(4, b"\x78\x9c" + b"\xff" * 10), "tensorCorrupt"))
    files.append(("short-zlib", deflated(8, zlib.compress(np.zeros(4, "<f4").tobytes())), "tensorCorrupt"))
    files.append(("long-zlib", deflated(2, zlib.compress(np.zeros(4, "<f4").tobytes())), "tensorCorrupt"))
    # Truncations: inside the preamble, the header, the data.
    for n in (1, 40, 63, 64, 100, p.data_offset, len(ORIGINAL) - 1):
        files.append((f"truncated-{n}", ORIGINAL[:n], "tooShort" if n < 64 else "lengthMismatch"))
    # Bit flips: preamble fields, header bytes, and the first byte of every tensor (bad CRC).
    for offset in (8, 12, 20, 30, 44, 50, 56):
        files.append((f"flip-preamble-{offset}", flip(ORIGINAL, offset), "preambleChecksumMismatch"))
    for offset in (64, 64 + p.header_length // 2, 64 + p.header_length - 1):
        files.append((f"flip-header-{offset}", flip(ORIGINAL, offset, 3), "headerChecksumMismatch"))
    for e in header.tensors[:6]:
        files.append((f"flip-tensor-{e.name}", flip(ORIGINAL, p.data_offset + e.offset, 7), "tensorChecksumMismatch"))
    return files


HOSTILE = hostile_files()


@pytest.mark.parametrize("name,image,kind", HOSTILE, ids=[f[0] for f in HOSTILE])
def test_hostile_file_is_refused(name, image, kind, tmp_path):
    path = tmp_path / f"{name}.cnnm"
    path.write_bytes(image)
    with pytest.raises(cnnm.FormatError) as caught:
        cnnm.load(str(path))
    assert caught.value.kind == kind, str(caught.value)
    assert str(caught.value).startswith(str(path) + ": ")
    with pytest.raises(cnnm.FormatError):
        cnnm.load_bytes(image)


def test_graph_errors_name_the_node_and_tensor(tmp_path):
    def missing(h):
        h.nodes[0].conv2d.weight = "no.such.tensor"
    path = tmp_path / "missing.cnnm"
    path.write_bytes(edited_header(missing))
    with pytest.raises(cnnm.GraphError, match="node 'conv1' names tensor 'no.such.tensor'"):
        cnnm.load(str(path))

    def undefined(h):
        h.nodes[1].inputs[0] = "nowhere"
    path.write_bytes(edited_header(undefined))
    with pytest.raises(cnnm.GraphError, match="reads 'nowhere'"):
        cnnm.load(str(path))


def test_a_newer_minor_version_loads():
    image = fix_preamble_crc(ORIGINAL[:10] + struct.pack("<H", 7) + ORIGINAL[12:])
    assert cnnm.load_bytes(image).version == (1, 7)


def test_unknown_header_fields_survive_a_round_trip(tmp_path):
    _, header, data = parts()
    extra = b"\xfa\x3e\x05hello"  # field 999, length-delimited: a field of a newer minor version
    image = assemble(header, data, header_bytes=header.SerializeToString(deterministic=True) + extra)
    m = cnnm.load_bytes(image)
    assert cnnm.serialize(m) == image


def test_not_a_file(tmp_path):
    with pytest.raises(cnnm.FormatError) as e:
        cnnm.load(str(tmp_path))
    assert e.value.kind == "notARegularFile"
    with pytest.raises(cnnm.FormatError) as e:
        cnnm.load(str(tmp_path / "missing.cnnm"))
    assert e.value.kind == "ioError"


def test_the_swift_reader_says_the_same(cnnconv, tmp_path):
    """`cnnconv inspect` refuses each hostile file (exit 3) with the same message (for a header
    that does not decode, up to the protobuf runtime's own reason)."""
    for name, image, kind in HOSTILE:
        path = tmp_path / f"{name}.cnnm"
        path.write_bytes(image)
        with pytest.raises(cnnm.FormatError) as caught:
            cnnm.load(str(path))
        done = subprocess.run([cnnconv, "inspect", str(path)], capture_output=True, text=True)
        assert done.returncode == 3, f"{name}: cnnconv inspect exited {done.returncode}"
        expected = str(caught.value)
        if kind == "malformedHeader":  # the reason after the colon is each protobuf runtime's own
            expected = expected.split(": the header does not decode:")[0] + ": the header does not decode:"
        assert expected in done.stderr, f"{name}:\n python: {caught.value}\n swift:  {done.stderr}"


def test_the_c_loader_refuses_them_too(cnnm_run, tmp_path):
    paths = []
    for name, image, _ in HOSTILE:
        path = tmp_path / f"{name}.cnnm"
        path.write_bytes(image)
        paths.append(str(path))
    for path in paths:
        done = subprocess.run([cnnm_run, "--check", path], capture_output=True, text=True)
        assert done.returncode == 3, f"{path}: cnnm-run --check exited {done.returncode}: {done.stdout}"
