"""A small, independent writer of cnnconv model files (format 1.0), written from schema/FORMAT.md
and schema/cnnmodel.proto alone — no cnnconv code and no protobuf package. Because the Swift
reader (`cnnconv inspect`) must accept what this writes, it doubles as a check that FORMAT.md
says everything a second implementation needs.

The protobuf header is encoded by hand (proto3 wire format: varints, length-delimited fields,
fixed64 doubles, fixed32 floats, packed repeated scalars). Fields are written in field-number
order and proto3 default values are omitted (oneof members always written), map entries sorted
by key, so the same model always gives the same bytes.

Usage:
    w = ModelWriter("digits_cnn", producer="...", metadata={...})
    w.input("image", ["N", 1, 8, 8])
    w.conv2d("conv1", "image", weight, kernel=3, pad=1)
    ...
    w.output("logits", ["N", 10])
    w.write("model.cnnm")
"""
import struct
import zlib

import numpy as np

MAGIC = b"\x89CNN\r\n\x1a\n"
MAJOR, MINOR = 1, 0
ALIGNMENT = 64

# enums from cnnmodel.proto
DATA_TYPE_FLOAT32 = 1
ENCODING_RAW, ENCODING_DEFLATE, ENCODING_SHUFFLE_DEFLATE = 0, 1, 2
DROPOUT_INVERTED, DROPOUT_CLASSIC = 0, 1
GRANULARITY_ELEMENT, GRANULARITY_CHANNEL = 0, 1
POOL_MAX, POOL_AVERAGE = 0, 1

# Node.op oneof field numbers (cnnmodel.proto, message Node)
OP_CONV2D, OP_BATCH_NORM, OP_DROPOUT, OP_LINEAR, OP_RELU = 10, 12, 13, 14, 15
OP_POOL2D, OP_GLOBAL_POOL, OP_FLATTEN, OP_SOFTMAX = 23, 24, 25, 29


# ---------------------------------------------------------------------------------------------
# protobuf wire format


def _varint(n):
    n &= (1 << 64) - 1  # negative int32/int64 are encoded as 10-byte two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire_type):
    return _varint((field << 3) | wire_type)


class Message:
    """Fields appended in the order given; callers give them in field-number order."""

    def __init__(self):
        self.buf = bytearray()

    def uint(self, field, value, always=False):  # uint32/uint64/int32/enum/bool
        if value or always:
            self.buf += _key(field, 0) + _varint(int(value))
        return self

    def double(self, field, value):
        if value != 0.0:
            self.buf += _key(field, 1) + struct.pack("<d", float(value))
        return self

    def float(self, field, value):
        if value != 0.0:
            self.buf += _key(field, 5) + struct.pack("<f", float(value))
        return self

    def bytes(self, field, value, always=False):
        if value or always:
            self.buf += _key(field, 2) + _varint(len(value)) + bytes(value)
        return self

    def string(self, field, value, always=False):
        return self.bytes(field, value.encode("utf-8"), always)

    def message(self, field, msg):  # singular or repeated sub-message: always written
        return self.bytes(field, msg.buf, always=True)

    def packed_uints(self, field, values):
        if values:
            self.bytes(field, b"".join(_varint(int(v)) for v in values))
        return self


# ---------------------------------------------------------------------------------------------
# the model


def _window(kernel, stride=1, pad=0):
    w = Message()
    w.uint(1, kernel).uint(2, kernel).uint(3, stride).uint(4, stride).uint(5, 1).uint(6, 1)
    w.uint(7, pad).uint(8, pad).uint(9, pad).uint(10, pad)
    return w


def _value_info(name, shape):
    v = Message().string(1, name).uint(2, DATA_TYPE_FLOAT32)
    for d in shape:
        dim = Message()
        if isinstance(d, str):
            dim.string(2, d, always=True)
        else:
            dim.uint(1, d, always=True)  # oneof member: present even when 0
        v.message(3, dim)
    return v


def _encode_tensor(values, encoding):
    raw = np.ascontiguousarray(values, dtype="<f4").tobytes()
    if encoding == ENCODING_RAW:
        return raw
    if encoding == ENCODING_DEFLATE:
        return zlib.compress(raw, 9)
    if encoding == ENCODING_SHUFFLE_DEFLATE:
        shuffled = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 4).T.tobytes()
        return zlib.compress(shuffled, 9)
    raise ValueError(f"unknown encoding {encoding}")


class ModelWriter:
    def __init__(self, name, producer, metadata=None, encoding=ENCODING_RAW):
        self.name, self.producer = name, producer
        self.metadata = dict(metadata or {})
        self.encoding = encoding
        self.inputs, self.outputs, self.nodes = [], [], []
        self.tensors = []  # (name, float32 array), in data-section order
        self.applied_passes = []

    # --- graph
    def input(self, name, shape):
        self.inputs.append(_value_info(name, shape))

    def output(self, name, shape):
        self.outputs.append(_value_info(name, shape))

    def _tensor(self, name, values):
        if any(n == name for n, _ in self.tensors):
            raise ValueError(f"tensor name '{name}' used twice")
        a = np.asarray(values, dtype=np.float32)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"tensor '{name}' holds NaN or infinity")
        self.tensors.append((name, a))
        return name

    def _node(self, name, inputs, op_field, op):
        n = Message().string(1, name)
        for i in inputs:
            n.string(2, i, always=True)
        n.string(3, name, always=True)  # one output, named after the node
        n.message(op_field, op)
        self.nodes.append(n)
        return name

    def conv2d(self, name, x, weight, bias=None, kernel=3, stride=1, pad=0):
        assert weight.shape[2] == kernel and weight.shape[3] == kernel
        op = Message().string(1, self._tensor(name + ".weight", weight))
        if bias is not None:
            op.string(2, self._tensor(name + ".bias", bias))
        op.message(3, _window(kernel, stride, pad)).uint(4, 1)
        return self._node(name, [x], OP_CONV2D, op)

    def batch_norm(self, name, x, gamma, beta, running_mean, running_var, eps=1e-5, momentum=0.1,
                   num_batches_tracked=0):
        op = Message()
        op.string(1, self._tensor(name + ".weight", gamma)).string(2, self._tensor(name + ".bias", beta))
        op.string(3, self._tensor(name + ".running_mean", running_mean))
        op.string(4, self._tensor(name + ".running_var", running_var))
        op.double(5, eps).double(6, momentum).uint(7, True).uint(8, num_batches_tracked)
        return self._node(name, [x], OP_BATCH_NORM, op)

    def relu(self, name, x):
        return self._node(name, [x], OP_RELU, Message())

    def max_pool(self, name, x, kernel, stride):
        op = Message().uint(1, POOL_MAX).message(2, _window(kernel, stride, 0))
        return self._node(name, [x], OP_POOL2D, op)

    def global_average_pool(self, name, x):
        return self._node(name, [x], OP_GLOBAL_POOL, Message().uint(1, POOL_AVERAGE))

    def flatten(self, name, x, axis=1):
        return self._node(name, [x], OP_FLATTEN, Message().uint(1, axis))

    def dropout(self, name, x, rate, convention, granularity=GRANULARITY_ELEMENT):
        op = Message().double(1, rate).uint(2, convention).uint(3, granularity)
        return self._node(name, [x], OP_DROPOUT, op)

    def linear(self, name, x, weight, bias=None):
        op = Message().string(1, self._tensor(name + ".weight", weight))
        if bias is not None:
            op.string(2, self._tensor(name + ".bias", bias))
        return self._node(name, [x], OP_LINEAR, op)

    # --- file
    def header_and_data(self):
        entries, data = [], bytearray()
        for name, a in self.tensors:
            stored = _encode_tensor(a, self.encoding)
            offset = -(-len(data) // ALIGNMENT) * ALIGNMENT
            data += b"\0" * (offset - len(data))
            e = Message().string(1, name).uint(2, DATA_TYPE_FLOAT32).packed_uints(3, a.shape)
            e.uint(4, offset).uint(5, len(stored)).uint(6, self.encoding).uint(7, zlib.crc32(stored))
            entries.append(e)
            data += stored
        m = Message().string(1, self.name).string(2, self.producer)
        for k in sorted(self.metadata):
            m.message(3, Message().string(1, k, always=True).string(2, self.metadata[k], always=True))
        for v in self.inputs:
            m.message(4, v)
        for v in self.outputs:
            m.message(5, v)
        for n in self.nodes:
            m.message(6, n)
        for e in entries:
            m.message(7, e)
        for p in self.applied_passes:
            m.string(8, p, always=True)
        return bytes(m.buf), bytes(data)

    def serialize(self):
        header, data = self.header_and_data()
        data_offset = -(-(64 + len(header)) // ALIGNMENT) * ALIGNMENT
        pre = bytearray(MAGIC)
        pre += struct.pack("<HHI", MAJOR, MINOR, 0)
        pre += struct.pack("<QQQQ", 64, len(header), data_offset, len(data))
        pre += struct.pack("<II", zlib.crc32(header), 0)
        pre += struct.pack("<II", zlib.crc32(bytes(pre)), 0)
        assert len(pre) == 64
        return bytes(pre) + header + b"\0" * (data_offset - 64 - len(header)) + data

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.serialize())
        return path
