"""A cnnconv model in Python: its graph, metadata and tensors as numpy arrays; `load` and `save`.

    m = cnnm.load("model.folded.cnnm")
    m.nodes[0].op, m.nodes[0].attributes      # "conv2d", {"weight": "conv1.weight", ...}
    m.tensors["conv1.weight"]                 # float32 ndarray, a view of the mapped file
    m.tensors["fc.bias"] = np.zeros(10, np.float32)
    cnnm.save(m, "edited.cnnm")

The header is kept as the generated protobuf message (`m.header`, fields this module does not
surface and unknown fields of a newer minor version included) and written back as it is, with a
new tensor table. The graph views (`nodes`, `inputs`, `outputs`) are read from it.
"""
from dataclasses import dataclass, field

from google.protobuf.json_format import MessageToDict

from . import cnnmodel_pb2 as pb
from . import errors as E
from . import format as F

__all__ = ["Model", "Node", "ValueInfo", "TensorInfo", "load", "save", "load_bytes"]


@dataclass(frozen=True)
class ValueInfo:
    """A graph input or output: name and shape, a symbolic dimension as its symbol ("N")."""
    name: str
    shape: tuple


@dataclass(frozen=True)
class Node:
    """A node: its op (the schema's oneof name, "conv2d"), activation inputs and outputs by name,
    and the op's attributes as a dict (tensor attributes are tensor names; defaults included).

    A general tensor op (op "tensor_op") has its `kind` ("Transpose", "Slice"), its attributes
    by name as Python values (int, float, str, or a list of ints or floats), and `operands` in
    operand order: None for the node's next input, else the name of the constant tensor it
    carries. The kinds and their attributes are listed in schema/tensor-op-kinds.md; this package
    checks their structure only (the Swift and C readers refuse kinds they do not know)."""
    name: str
    op: str
    inputs: tuple
    outputs: tuple
    attributes: dict = field(compare=False)
    message: object = field(compare=False, repr=False)  # the cnnmodel_pb2.Node
    kind: str = None
    operands: tuple = ()

    @property
    def label(self):
        """The op as reports show it: the kind for a tensor op ("Transpose"), else the op."""
        return self.kind if self.op == "tensor_op" else self.op


@dataclass(frozen=True)
class TensorInfo:
    """How a tensor is stored: "f32"/"f16"/"bf16", "raw"/"deflate"/"shuffle"; where and its CRC
    (None for tensors not read from a file)."""
    dtype: str = "f32"
    encoding: str = "raw"
    file_offset: int = None
    stored_length: int = None
    crc32: int = None


def _value_info(v):
    return ValueInfo(v.name, tuple(d.symbol if d.WhichOneof("value") == "symbol" else d.size for d in v.shape))


def _as_dict(message):
    """The message's fields, defaults included (the keyword changed name in protobuf 5.26)."""
    try:
        return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    except TypeError:
        return MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)


def _attribute_value(a):
    which = a.WhichOneof("value")
    if which in ("ints", "floats"):
        return list(getattr(a, which).values)
    return getattr(a, which) if which else None


def _node(n):
    op = n.WhichOneof("op") or "unknown"
    if op == "tensor_op":
        t = n.tensor_op
        attributes = {a.name: _attribute_value(a) for a in t.attributes}
        operands = tuple(o.constant or None for o in t.operands)
        return Node(n.name, op, tuple(n.inputs), tuple(n.outputs), attributes, n, t.kind, operands)
    attributes = _as_dict(getattr(n, op)) if op != "unknown" else {}
    return Node(n.name, op, tuple(n.inputs), tuple(n.outputs), attributes, n)


class Model:
    """A model: `header` (cnnmodel_pb2.Model), `tensors` (name → float32 ndarray, in file order)
    and `storage` (name → TensorInfo). Raw f32 tensors read from a file are read-only views of
    its mapping, valid while the model (or the array) lives; assign a new array to change one."""

    def __init__(self, header=None, tensors=None, storage=None, path=None, version=(F.MAJOR_VERSION, F.MINOR_VERSION)):
        self.header = header if header is not None else pb.Model()
        self.tensors = dict(tensors or {})
        self.storage = dict(storage or {})
        self.path = path
        self.version = version

    # --- the header's content
    @property
    def name(self):
        return self.header.name

    @property
    def producer(self):
        return self.header.producer

    @property
    def metadata(self):
        return dict(self.header.metadata)

    @property
    def applied_passes(self):
        return list(self.header.applied_passes)

    @property
    def inputs(self):
        return [_value_info(v) for v in self.header.inputs]

    @property
    def outputs(self):
        return [_value_info(v) for v in self.header.outputs]

    @property
    def nodes(self):
        return [_node(n) for n in self.header.nodes]

    def tensor_info(self, name):
        return self.storage.get(name, TensorInfo())

    @property
    def parameter_count(self):
        return sum(int(a.size) for a in self.tensors.values())

    def __repr__(self):
        return (f"<cnnm.Model {self.name!r}: {len(self.header.nodes)} nodes, {len(self.tensors)} tensors, "
                f"{self.parameter_count:,} parameters>")


def _check_graph(header, path):
    """FORMAT.md section 5's reference rules: every tensor an op names is in the table and every
    table entry is used; node and value names are unique; every node input is a graph input or an
    earlier node's output. (Shapes and attribute ranges are left to the Swift and C readers.)"""
    table = {t.name for t in header.tensors}
    used = set()
    defined = set()
    for v in header.inputs:
        if v.name in defined:
            raise E.GraphError("graphDuplicateName", f"two values are named '{v.name}'", path)
        defined.add(v.name)
    node_names = set()
    for index, n in enumerate(header.nodes):
        label = f"node '{n.name}'" if n.name else f"node #{index}"
        if n.name and n.name in node_names:
            raise E.GraphError("graphDuplicateName", f"two nodes are named '{n.name}'", path)
        node_names.add(n.name)
        for i in n.inputs:
            if i not in defined:
                raise E.GraphError("graphUndefinedValue", f"{label} reads '{i}', which no graph input or earlier node defines", path)
        op = n.WhichOneof("op")
        if op is not None:
            for name in _tensor_names(getattr(n, op)):
                if name not in table:
                    raise E.GraphError("graphMissingTensor", f"{label} names tensor '{name}', which is not in the tensor table", path)
                used.add(name)
        for o in n.outputs:
            if o in defined:
                raise E.GraphError("graphDuplicateName", f"two values are named '{o}'", path)
            defined.add(o)
    for v in header.outputs:
        if v.name not in defined:
            raise E.GraphError("graphUndefinedValue", f"graph output '{v.name}' is not defined by any node or input", path)
    for t in header.tensors:
        if t.name not in used:
            raise E.GraphError("graphUnreferencedTensor", f"tensor '{t.name}' is not used by any node", path)


def _tensor_names(message):
    """The tensor names an op message refers to (string fields naming parameters, nested
    reparameterization gains included, a tensor op's constant operands); empty names mean "none"."""
    if message.DESCRIPTOR.name == "TensorOp":
        return [o.constant for o in message.operands if o.constant]
    fields = {"weight", "bias", "scale", "shift", "running_mean", "running_variance", "gain"}
    if message.DESCRIPTOR.name == "BatchNorm" and not message.affine:
        fields = fields - {"scale", "bias"}  # the readers ignore the names when affine is false
    out = []
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE:
            out += _tensor_names(value)
        elif descriptor.name in fields and isinstance(value, str) and value:
            out.append(value)
    return out


def _read(buf, path, verify_checksums):
    preamble = F.Preamble.parse(buf, len(buf))
    header = F.read_header(buf, preamble)
    F.check_tensor_table(header.tensors, preamble, buf, verify_checksums)
    tensors, storage = {}, {}
    for e in header.tensors:
        tensors[e.name] = F.decode_tensor(buf, preamble.data_offset, e)
        storage[e.name] = TensorInfo(F.DTYPES[e.dtype], F.ENCODINGS[e.encoding], preamble.data_offset + e.offset,
                                     e.stored_length, e.crc32)
    _check_graph(header, path)
    return Model(header, tensors, storage, path, (preamble.major, preamble.minor))


def load(path, verify_checksums=True):
    """Opens and checks `path` (FORMAT.md section 6, then the graph's references). Raises
    cnnm.FormatError naming the file and what is wrong."""
    buf = F.open_buffer(path)
    try:
        return _read(buf, path, verify_checksums)
    except E.FormatError as error:
        raise (error if error.path else error.at(path)) from None


def load_bytes(data, path="<memory>", verify_checksums=True):
    """The same for a file image in memory (bytes; raw f32 tensors are views of it)."""
    try:
        return _read(data, path, verify_checksums)
    except E.FormatError as error:
        raise (error if error.path else error.at(path)) from None


def _payloads(model):
    for name, values in model.tensors.items():
        info = model.tensor_info(name)
        yield name, values, getattr(values, "shape", ()), info.dtype, info.encoding


def serialize(model):
    """The file image `save` would write."""
    return F.serialize(model.header, list(_payloads(model)))


def save(model, path):
    """Writes `model` to `path` atomically (temporary file, fsync, rename): the header as it is,
    a tensor table and data section built from `model.tensors` in their order and each tensor's
    `model.storage` format. The same content gives the bytes the Swift writer gives."""
    try:
        data = serialize(model)
    except E.FormatError as error:
        raise error.at(path) from None
    F.write_atomically(path, data)
    return path
