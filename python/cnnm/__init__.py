"""cnnm — read and write cnnconv model files (.cnnm, format 1.x; schema/FORMAT.md) from Python.

    import cnnm
    m = cnnm.load("model.folded.cnnm")       # checks everything the Swift reader checks
    m.inputs, m.outputs, m.nodes, m.metadata
    m.tensors["conv1.weight"]                # float32 numpy array; raw f32 ones are mmap views
    cnnm.save(m, "copy.cnnm")                # byte-identical to cnnconv's writer for the same content

    python -m cnnm dump model.cnnm           # the tensor table and the graph
"""
from .errors import FormatError, GraphError
from .format import (ALIGNMENT, MAJOR_VERSION, MAX_DEFLATE_RATIO, MAX_HEADER_LENGTH, MAX_TENSOR_ELEMENTS,
                     MINOR_VERSION)
from .model import Model, Node, TensorInfo, ValueInfo, load, load_bytes, save, serialize
from . import cnnmodel_pb2

__version__ = "1.0.0"
__all__ = ["load", "load_bytes", "save", "serialize", "Model", "Node", "ValueInfo", "TensorInfo", "FormatError",
           "GraphError", "cnnmodel_pb2", "MAJOR_VERSION", "MINOR_VERSION", "ALIGNMENT", "MAX_HEADER_LENGTH",
           "MAX_TENSOR_ELEMENTS", "MAX_DEFLATE_RATIO"]
