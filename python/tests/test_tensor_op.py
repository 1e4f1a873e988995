"""Files with general tensor ops (Node.tensor_op) read: the kind, the attributes as Python values
and the operands, with constant operands held to the tensor-table rules; `dump` shows the kind.
The Swift-written file comes from `cnnconv import` of the Transpose fixture whose perm
scripts/tensor_op_cases/movement.py sets to [0, 2, 3, 1]."""
import io
import os
import subprocess

import pytest

import cnnm
from cnnm import cnnmodel_pb2 as pb
from cnnm.__main__ import dump
from conftest import ROOT
from test_hostile import assemble, parts

TRANSPOSE = os.path.join(ROOT, "fixtures", "tensor-ops", "movement", "transpose_0231", "model.onnx")


@pytest.fixture(scope="module")
def transpose_file(cnnconv, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tensor-op") / "transpose.cnnm")
    subprocess.run([cnnconv, "import", TRANSPOSE, "-o", path], check=True, capture_output=True)
    return path


def test_a_swift_written_tensor_op_reads(transpose_file):
    m = cnnm.load(transpose_file)
    ops = [n for n in m.nodes if n.op == "tensor_op"]
    assert [(n.kind, n.attributes, n.operands) for n in ops] == [("Transpose", {"perm": [0, 2, 3, 1]}, (None,))]
    assert ops[0].label == "Transpose"
    out = io.StringIO()
    dump(transpose_file, out=out)
    row = next(line for line in out.getvalue().splitlines() if " Transpose " in line)
    assert "perm=[0, 2, 3, 1]" in row


def tensor_op_image(operand_constants, tensors_used=True):
    """small_cnn with a Transpose tensor op appended after its last node; its operands are the
    node's input plus constants by name. With tensors_used False, the op takes the place of a
    node's use of its tensors: only the tensor op's constants keep them in use."""
    _, header, data = parts()
    last = header.nodes[-1]
    node = header.nodes.add(name="t", inputs=[last.outputs[0]], outputs=["t_out"])
    node.tensor_op.kind = "Transpose"
    node.tensor_op.attributes.add(name="perm").ints.values.extend([1, 0])
    node.tensor_op.attributes.add(name="note").string = "s"
    node.tensor_op.attributes.add(name="eps").float = 0.5
    node.tensor_op.attributes.add(name="axis").int = -1
    node.tensor_op.attributes.add(name="w").floats.values.extend([0.25, 2.0])
    node.tensor_op.operands.add()
    for c in operand_constants:
        node.tensor_op.operands.add(constant=c)
    if not tensors_used:
        fc = next(n for n in header.nodes if n.WhichOneof("op") == "linear")
        operand_constants = [fc.linear.weight, fc.linear.bias]
        del node.tensor_op.operands[1:]
        for c in operand_constants:
            node.tensor_op.operands.add(constant=c)
        fc.ClearField("linear")
        fc.identity.SetInParent()
    header.outputs[0].name = "t_out"
    return assemble(header, data)


def test_attribute_values_and_constant_operands():
    m = cnnm.load_bytes(tensor_op_image([], tensors_used=False))
    t = m.nodes[-1]
    assert t.op == "tensor_op" and t.kind == "Transpose"
    assert t.attributes == {"perm": [1, 0], "note": "s", "eps": 0.5, "axis": -1, "w": [0.25, 2.0]}
    fc_weight, fc_bias = t.operands[1:]
    assert t.operands[0] is None and fc_weight in m.tensors and fc_bias in m.tensors


def test_a_dangling_constant_operand_is_refused():
    with pytest.raises(cnnm.GraphError) as e:
        cnnm.load_bytes(tensor_op_image(["ghost"]))
    assert e.value.kind == "graphMissingTensor" and "'ghost'" in str(e.value)


def test_a_tensor_used_only_by_a_removed_op_is_unreferenced():
    _, header, data = parts()
    fc = next(n for n in header.nodes if n.WhichOneof("op") == "linear")
    fc.ClearField("linear")
    fc.tensor_op.kind = "Transpose"
    with pytest.raises(cnnm.GraphError) as e:
        cnnm.load_bytes(assemble(header, data))
    assert e.value.kind == "graphUnreferencedTensor"


def test_tensor_op_messages_are_in_the_generated_module():
    assert pb.Node.DESCRIPTOR.fields_by_name["tensor_op"].number == 38
    assert [f.name for f in pb.TensorOp.DESCRIPTOR.fields] == ["kind", "attributes", "operands"]
