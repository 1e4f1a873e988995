"""Building a model file node by node, for training scripts that export what they trained
(training/train_digits.py uses it; it was training/cnnm_writer.py before it moved here).

    w = ModelWriter("digits_cnn", producer="...", metadata={...})
    w.input("image", ["N", 1, 8, 8])
    h = w.conv2d("conv1", "image", weight, kernel=3, pad=1)
    ...
    w.output(h, ["N", 10])
    w.write("model.cnnm")

Every node has one output named after the node; tensors are named "<node>.weight", ... and stored
in the order they are added. The file is written by cnnm.save, so the same model always gives the
same bytes, the bytes cnnconv's own writer gives.
"""
import numpy as np

from . import cnnmodel_pb2 as pb
from .format import ENCODINGS
from .model import Model, TensorInfo, save, serialize

# enums from cnnmodel.proto, by their old names in training/cnnm_writer.py
DATA_TYPE_FLOAT32 = pb.DATA_TYPE_FLOAT32
ENCODING_RAW, ENCODING_DEFLATE, ENCODING_SHUFFLE_DEFLATE = pb.ENCODING_RAW, pb.ENCODING_DEFLATE, pb.ENCODING_SHUFFLE_DEFLATE
DROPOUT_INVERTED, DROPOUT_CLASSIC = pb.DROPOUT_CONVENTION_INVERTED, pb.DROPOUT_CONVENTION_CLASSIC
GRANULARITY_ELEMENT, GRANULARITY_CHANNEL = pb.DROPOUT_GRANULARITY_ELEMENT, pb.DROPOUT_GRANULARITY_CHANNEL
POOL_MAX, POOL_AVERAGE = pb.POOL_KIND_MAX, pb.POOL_KIND_AVERAGE


def _window(w, kernel, stride=1, pad=0):
    w.kernel_h = w.kernel_w = kernel
    w.stride_h = w.stride_w = stride
    w.dilation_h = w.dilation_w = 1
    w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = pad


class ModelWriter:
    def __init__(self, name, producer, metadata=None, encoding=ENCODING_RAW):
        self.model = Model()
        self.model.header.name = name
        self.model.header.producer = producer
        for k, v in (metadata or {}).items():
            self.model.header.metadata[k] = v
        self.encoding = ENCODINGS[encoding]

    @property
    def applied_passes(self):
        return self.model.header.applied_passes

    # --- graph
    def _value_info(self, v, name, shape):
        v.name = name
        v.dtype = pb.DATA_TYPE_FLOAT32
        for d in shape:
            dim = v.shape.add()
            if isinstance(d, str):
                dim.symbol = d
            else:
                dim.size = int(d)

    def input(self, name, shape):
        self._value_info(self.model.header.inputs.add(), name, shape)

    def output(self, name, shape):
        self._value_info(self.model.header.outputs.add(), name, shape)

    def _tensor(self, name, values):
        if name in self.model.tensors:
            raise ValueError(f"tensor name '{name}' used twice")
        a = np.asarray(values, dtype=np.float32)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"tensor '{name}' holds NaN or infinity")
        self.model.tensors[name] = a
        self.model.storage[name] = TensorInfo("f32", self.encoding)
        return name

    def _node(self, name, inputs, op_field):
        n = self.model.header.nodes.add()
        n.name = name
        n.inputs.extend(inputs)
        n.outputs.append(name)  # one output, named after the node
        op = getattr(n, op_field)
        op.SetInParent()  # an op without fields (relu) is still the oneof's member
        return n, op

    def conv2d(self, name, x, weight, bias=None, kernel=3, stride=1, pad=0):
        assert weight.shape[2] == kernel and weight.shape[3] == kernel
        _, op = self._node(name, [x], "conv2d")
        op.weight = self._tensor(name + ".weight", weight)
        if bias is not None:
            op.bias = self._tensor(name + ".bias", bias)
        _window(op.window, kernel, stride, pad)
        op.groups = 1
        return name

    def batch_norm(self, name, x, gamma, beta, running_mean, running_var, eps=1e-5, momentum=0.1,
                   num_batches_tracked=0):
        _, op = self._node(name, [x], "batch_norm")
        op.scale = self._tensor(name + ".weight", gamma)
        op.bias = self._tensor(name + ".bias", beta)
        op.running_mean = self._tensor(name + ".running_mean", running_mean)
        op.running_variance = self._tensor(name + ".running_var", running_var)
        op.epsilon, op.momentum, op.affine, op.num_batches_tracked = eps, momentum, True, int(num_batches_tracked)
        return name

    def relu(self, name, x):
        self._node(name, [x], "relu")
        return name

    def max_pool(self, name, x, kernel, stride):
        _, op = self._node(name, [x], "pool2d")
        op.kind = POOL_MAX
        _window(op.window, kernel, stride, 0)
        return name

    def global_average_pool(self, name, x):
        _, op = self._node(name, [x], "global_pool")
        op.kind = POOL_AVERAGE
        return name

    def flatten(self, name, x, axis=1):
        _, op = self._node(name, [x], "flatten")
        op.axis = axis
        return name

    def dropout(self, name, x, rate, convention, granularity=GRANULARITY_ELEMENT):
        _, op = self._node(name, [x], "dropout")
        op.rate, op.convention, op.granularity = rate, convention, granularity
        return name

    def linear(self, name, x, weight, bias=None):
        _, op = self._node(name, [x], "linear")
        op.weight = self._tensor(name + ".weight", weight)
        if bias is not None:
            op.bias = self._tensor(name + ".bias", bias)
        return name

    # --- file
    def serialize(self):
        return serialize(self.model)

    def write(self, path):
        return save(self.model, path)
