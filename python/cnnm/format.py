"""The cnnconv container (schema/FORMAT.md): reading with every check the Swift reader makes, in
its order (Sources/CNNFormat: Preamble.swift, ModelFile.swift), and writing byte-identical to the
Swift writer (ModelFileWriter.swift) for the same content.

Raw f32 tensors are numpy views of a read-only mmap of the file (zero copy, 64-byte aligned);
f16/bf16 and deflate/shuffle tensors are decoded once, at load.
"""
import mmap
import os
import stat
import struct
import tempfile
import zlib

import numpy as np
from google.protobuf.message import DecodeError

from . import cnnmodel_pb2 as pb
from . import errors as E

MAGIC = b"\x89CNN\r\n\x1a\n"
MAJOR_VERSION, MINOR_VERSION = 1, 0
PREAMBLE_LENGTH = 64
ALIGNMENT = 64
MAX_HEADER_LENGTH = 256 << 20
MAX_TENSOR_ELEMENTS = 1 << 40  # tensors hold fewer elements than this
MAX_DEFLATE_RATIO = 1032  # deflate never expands more than 1032:1
HEADER_MESSAGE_DEPTH_LIMIT = 100  # the protobuf runtime's default recursion limit is the same
# How the Swift writer compresses (DeflatePieces in TensorCodec.swift, Zlib.swift), so that both
# write the same bytes for the same tensor: the stream is cut into 1 MiB pieces, each raw-deflated
# on its own and ended with a sync flush (the last with the final block), joined under one zlib
# header and the Adler-32 of the whole stream. Shuffled bytes: Huffman coding only at level 1;
# interleaved bytes: level 6, zlib's default strategy.
PIECE_BYTES = 1 << 20
DEFLATE_SETTINGS = {"deflate": (6, zlib.Z_DEFAULT_STRATEGY), "shuffle": (1, zlib.Z_HUFFMAN_ONLY)}

# Storage names as the CLI spells them (StorageFormat in TensorCodec.swift).
DTYPES = {pb.DATA_TYPE_FLOAT32: "f32", pb.DATA_TYPE_FLOAT16: "f16", pb.DATA_TYPE_BFLOAT16: "bf16"}
ENCODINGS = {pb.ENCODING_RAW: "raw", pb.ENCODING_DEFLATE: "deflate", pb.ENCODING_SHUFFLE_DEFLATE: "shuffle"}
DTYPE_NUMBERS = {v: k for k, v in DTYPES.items()}
ENCODING_NUMBERS = {v: k for k, v in ENCODINGS.items()}
WIDTH = {"f32": 4, "f16": 2, "bf16": 2}


def align_up(value):
    return (value + ALIGNMENT - 1) & ~(ALIGNMENT - 1)


def data_offset_for(header_length):
    return align_up(PREAMBLE_LENGTH + header_length)


class Preamble:
    """The 64-byte preamble's fields (FORMAT.md section 1)."""

    def __init__(self, major=MAJOR_VERSION, minor=MINOR_VERSION, header_length=0, data_offset=0, data_length=0, header_crc32=0):
        self.major, self.minor = major, minor
        self.header_offset = PREAMBLE_LENGTH
        self.header_length, self.data_offset, self.data_length = header_length, data_offset, data_length
        self.header_crc32 = header_crc32

    def encoded(self):
        out = MAGIC + struct.pack("<HHIQQQQII", self.major, self.minor, 0, self.header_offset, self.header_length,
                                  self.data_offset, self.data_length, self.header_crc32, 0)
        return out + struct.pack("<II", zlib.crc32(out), 0)

    @classmethod
    def parse(cls, buf, size):
        """Checks in FORMAT.md section 6's order (Preamble.parse in Swift)."""
        if size == 0:
            raise E.empty()
        if size < PREAMBLE_LENGTH:
            head = bytes(buf[:8])
            if len(head) >= 4 and head != MAGIC[:len(head)]:
                raise E.bad_magic(head)
            raise E.too_short(size)
        magic = bytes(buf[:8])
        if magic != MAGIC:
            raise E.bad_magic(magic)
        stored_crc, = struct.unpack_from("<I", buf, 56)
        computed = zlib.crc32(buf[:56])
        if stored_crc != computed:
            raise E.preamble_checksum(stored_crc, computed)
        major, minor, flags, header_offset, header_length, data_offset, data_length, header_crc, reserved1, _, reserved2 = \
            struct.unpack_from("<HHIQQQQIIII", buf, 8)
        if major != MAJOR_VERSION:
            raise E.unsupported_major(major, MAJOR_VERSION)
        if flags:
            raise E.reserved_not_zero("flags", flags)
        if reserved1:
            raise E.reserved_not_zero("reserved field at byte 52", reserved1)
        if reserved2:
            raise E.reserved_not_zero("reserved field at byte 60", reserved2)
        if header_offset != PREAMBLE_LENGTH:
            raise E.header_offset(header_offset)
        if header_length > MAX_HEADER_LENGTH:
            raise E.header_too_large(header_length, MAX_HEADER_LENGTH)
        expected = data_offset_for(header_length)
        if data_offset != expected:
            raise E.data_offset(data_offset, expected)
        end = data_offset + data_length
        if end >= 1 << 64:
            raise E.length_mismatch((1 << 64) - 1, size)
        if end != size:
            raise E.length_mismatch(end, size)
        return cls(major, minor, header_length, data_offset, data_length, header_crc)


def _first_nonzero(buf, start, end):
    """The index of the first non-zero byte in buf[start:end], or None."""
    if start >= end:
        return None
    view = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    nz = np.flatnonzero(view)
    return start + int(nz[0]) if nz.size else None


def check_tensor_table(entries, preamble, buf, verify_checksums=True):
    """The tensor table proven sound (ModelFile.checkTensorTable): known types, sizes within the
    limits and consistent with the encoding, the packing rule, zero gaps, CRCs."""
    seen = set()
    expected_offset = 0
    size = len(buf)
    for e in entries:
        name = e.name
        if name in seen:
            raise E.duplicate_tensor(name)
        seen.add(name)
        if e.dtype not in DTYPES:
            raise E.unknown_dtype(name, e.dtype)
        if e.encoding not in ENCODINGS:
            raise E.unknown_encoding(name, e.encoding)
        count = 1
        for d in e.dims:
            count *= d
        if count >= 1 << 64:
            raise E.tensor_too_large(name, "more than 2^64", MAX_TENSOR_ELEMENTS - 1)
        if count >= MAX_TENSOR_ELEMENTS:
            raise E.tensor_too_large(name, E.grouped(count), MAX_TENSOR_ELEMENTS - 1)
        raw_length = count * WIDTH[DTYPES[e.dtype]]
        if e.encoding == pb.ENCODING_RAW:
            if e.stored_length != raw_length:
                raise E.tensor_length(name, e.stored_length, raw_length)
        elif e.stored_length == 0 or raw_length > e.stored_length * MAX_DEFLATE_RATIO:
            raise E.tensor_decompressed_too_large(name, raw_length, e.stored_length)
        if e.offset != expected_offset:
            raise E.tensor_misplaced(name, e.offset, expected_offset)
        end = e.offset + e.stored_length
        file_end = preamble.data_offset + end
        if end >= 1 << 64 or file_end >= 1 << 64 or end > preamble.data_length:
            raise E.tensor_out_of_bounds(name, (1 << 64) - 1 if end >= 1 << 64 or file_end >= 1 << 64 else file_end, size)
        expected_offset = align_up(end)
        gap_end = min(expected_offset, preamble.data_length)
        bad = _first_nonzero(buf, preamble.data_offset + end, preamble.data_offset + gap_end)
        if bad is not None:
            raise E.padding_not_zero(bad)
    used = entries[-1].offset + entries[-1].stored_length if entries else 0
    if used != preamble.data_length:
        raise E.data_uncovered(used, preamble.data_length)
    if verify_checksums:
        view = memoryview(buf)
        for e in entries:
            start = preamble.data_offset + e.offset
            computed = zlib.crc32(view[start:start + e.stored_length])
            if computed != e.crc32:
                raise E.tensor_checksum(e.name, e.crc32, computed)


def _inflate(stored, size, tensor):
    """Exactly `size` bytes from a zlib stream, or the Swift reader's reason why not."""
    if len(stored) == 0:
        raise E.tensor_corrupt(tensor, "empty zlib stream")
    d = zlib.decompressobj()
    try:
        out = d.decompress(stored, size + 1)  # one spare byte detects a stream that decodes to more
    except zlib.error:
        raise E.tensor_corrupt(tensor, "corrupt zlib stream") from None
    if len(out) > size:
        raise E.tensor_corrupt(tensor, f"the stream decompresses to more than {size} bytes")
    if not d.eof:
        raise E.tensor_corrupt(tensor, "the zlib stream is truncated")
    if len(out) != size:
        raise E.tensor_corrupt(tensor, f"the stream decompresses to {len(out)} bytes, expected {size}")
    if d.unused_data:
        raise E.tensor_corrupt(tensor, "bytes follow the end of the zlib stream")
    return out


def decode_tensor(buf, data_offset, entry):
    """The values of one checked table entry as a read-only float32 array of its dims: a view of
    `buf` for raw f32, decoded otherwise."""
    dtype, encoding = DTYPES[entry.dtype], ENCODINGS[entry.encoding]
    count = 1
    for d in entry.dims:
        count *= d
    shape = tuple(entry.dims)
    start = data_offset + entry.offset
    width = WIDTH[dtype]
    if encoding == "raw":
        if dtype == "f32":
            a = np.frombuffer(buf, dtype="<f4", count=count, offset=start)
        else:
            a = np.frombuffer(buf, dtype="<u2", count=count, offset=start)
    else:
        raw = _inflate(memoryview(buf)[start:start + entry.stored_length], count * width, entry.name)
        if encoding == "shuffle":  # byte 0 of every element, then byte 1, …
            raw = np.frombuffer(raw, dtype=np.uint8).reshape(width, count).T.copy().tobytes()
        a = np.frombuffer(raw, dtype="<f4" if dtype == "f32" else "<u2", count=count)
    if dtype == "f16":
        a = a.view("<f2").astype(np.float32)
    elif dtype == "bf16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    a = a.reshape(shape)
    a.flags.writeable = False
    return a


def stored_bytes(values, dtype, encoding):
    """The stored bytes of float32 `values` as `dtype`/`encoding` (TensorCodec.encode)."""
    v = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    if dtype == "f32":
        raw = v.tobytes()
    elif dtype == "f16":
        raw = v.astype("<f2").tobytes()  # round to nearest even, as Swift's Float16(_:)
    elif dtype == "bf16":
        raw = bfloat16_bits(v).astype("<u2").tobytes()
    else:
        raise ValueError(f"unknown dtype {dtype!r} (f32, f16, bf16)")
    if encoding == "raw":
        return raw
    if encoding == "shuffle":
        width = WIDTH[dtype]
        raw = np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).T.tobytes()
    elif encoding != "deflate":
        raise ValueError(f"unknown encoding {encoding!r} (raw, deflate, shuffle)")
    return deflate_pieces(raw, *DEFLATE_SETTINGS[encoding])


def deflate_pieces(raw, level, strategy):
    """One zlib stream (RFC 1950) of `raw`, built piece by piece as the Swift writer builds it."""
    cmf, flg = 0x78, (0 if level <= 1 else 1 if level < 6 else 2 if level == 6 else 3) << 6
    flg += 31 - ((cmf << 8) | flg) % 31
    out = [bytes([cmf, flg])]
    starts = range(0, max(len(raw), 1), PIECE_BYTES)
    for k, start in enumerate(starts):
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
        piece = raw[start:start + PIECE_BYTES]
        out.append(c.compress(piece) + c.flush(zlib.Z_FINISH if k == len(starts) - 1 else zlib.Z_SYNC_FLUSH))
    out.append(struct.pack(">I", zlib.adler32(raw)))
    return b"".join(out)


def bfloat16_bits(values):
    """The upper 16 bits of each float32, rounded to nearest even; NaN stays NaN (quiet)."""
    bits = np.ascontiguousarray(values, dtype="<f4").view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF
    nan = np.isnan(np.asarray(values, dtype=np.float32))
    return np.where(nan, (bits >> 16) | 0x0040, rounded).astype(np.uint16)


def read_header(buf, preamble):
    """The header's CRC, then its decoding, then the zero padding after it."""
    start, end = preamble.header_offset, preamble.header_offset + preamble.header_length
    header_bytes = bytes(buf[start:end])
    computed = zlib.crc32(header_bytes)
    if computed != preamble.header_crc32:
        raise E.header_checksum(preamble.header_crc32, computed)
    header = pb.Model()
    try:
        header.ParseFromString(header_bytes)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise E.malformed_header(str(error) or type(error).__name__) from None
    bad = _first_nonzero(buf, end, preamble.data_offset)
    if bad is not None:
        raise E.padding_not_zero(bad)
    return header


def open_buffer(path):
    """A read-only mmap of `path` (or b"" for an empty file), refusing what is not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise E.io_error(error.strerror or str(error)).at(path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise E.not_regular_file().at(path)
        if info.st_size == 0:
            return b""
        return mmap.mmap(fd, info.st_size, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


def serialize(header, tensors):
    """The file image for `header` (its tensor table replaced) and `tensors`, a list of
    (name, float32 values, dims, dtype, encoding) in data-section order — the Swift writer's
    layout and bytes (ModelFileWriter.Plan)."""
    header_copy = pb.Model()
    header_copy.CopyFrom(header)
    del header_copy.tensors[:]
    seen = set()
    chunks = []
    offset = 0
    for name, values, dims, dtype, encoding in tensors:
        if name in seen:
            raise E.duplicate_tensor(name)
        seen.add(name)
        stored = stored_bytes(values, dtype, encoding)
        offset = align_up(offset)
        entry = header_copy.tensors.add()
        entry.name = name
        entry.dtype = DTYPE_NUMBERS[dtype]
        entry.encoding = ENCODING_NUMBERS[encoding]
        entry.dims.extend(int(d) for d in dims)
        entry.offset = offset
        entry.stored_length = len(stored)
        entry.crc32 = zlib.crc32(stored)
        chunks.append((offset, stored))
        offset += len(stored)
    header_bytes = header_copy.SerializeToString(deterministic=True)
    p = Preamble(header_length=len(header_bytes), data_offset=data_offset_for(len(header_bytes)), data_length=offset,
                 header_crc32=zlib.crc32(header_bytes))
    out = bytearray(p.encoded())
    out += header_bytes
    out += bytes(p.data_offset - len(out))
    position = 0
    for at, stored in chunks:
        out += bytes(at - position)
        out += stored
        position = at + len(stored)
    return bytes(out)


def write_atomically(path, data):
    """Writes to a temporary file in the same folder (mode 0644), fsyncs, renames over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise E.not_regular_file().at(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=folder)
    except OSError as error:
        raise E.io_error(f"cannot create a temporary file beside {path}: {error.strerror}").at(path) from None
    try:
        os.fchmod(fd, 0o644)  # as the Swift writer (mkstemp makes 0600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
