#!/usr/bin/env python3
"""Writes torchvision-layout CNNs as ONNX — ResNet-18, ResNet-50, MobileNetV2 — with random
weights and realistic BatchNorm statistics, the way a user's exported model looks: the same
node and initializer names as torch.onnx.export of torchvision's models (conv/bn/relu blocks,
`layer1.0.conv1.weight`, `features.3.conv.1.0.weight`, …), opset 17, eval-mode BatchNormalization.

Realistic statistics: as after training, each BatchNorm's running statistics are close to (not
equal to) what its input really has: the script runs the model in onnxruntime on random images,
measures every BN input per channel, and sets running mean = measured mean + noise and running
variance = measured variance × a log-normal factor, layer after layer until they settle. A few
channels per layer are nearly dead (their conv weights ×0.01, so their variance is ~1e-4 of the
others' and the fold multiplies those weights by ~100), γ is around 1 with a few near 0, β
around 0. Requires onnxruntime for that calibration.

usage: scripts/make_zoo_models.py OUT_DIR [--models resnet18,resnet50,mobilenetv2]
                                  [--batch N] [--width W] [--size S] [--seed S]
  --batch N   fix the batch dimension at N (most exported files do); default symbolic "N"
  --width W   multiply every channel count by W (small fixtures: 0.125)
Requires: numpy, onnx.
"""
import argparse
import os
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, rng, width):
        self.rng, self.width = rng, width
        self.nodes, self.inits, self.count, self.bns = [], [], 0, []

    def ch(self, c):
        return max(4, int(round(c * self.width)))

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def node(self, op, inputs, name, **attrs):
        out = f"{name}_out" if name else f"t{self.count}"
        self.count += 1
        self.nodes.append(helper.make_node(op, inputs, [out], name=name or out, **attrs))
        return out

    def conv(self, x, name, cin, cout, k, s=1, groups=1, bias=False):
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        ins = [x, self.init(f"{name}.weight", w)]
        if bias:
            ins.append(self.init(f"{name}.bias", self.rng.normal(0, 0.01, cout)))
        p = k // 2
        return self.node("Conv", ins, name, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p], group=groups)

    def bn(self, x, name, c):
        r = self.rng
        # A few nearly dead channels: the producing conv's weights for them are scaled down.
        producer = self.inits[-1] if self.inits[-1].name.endswith(".weight") else self.inits[-2]
        w = numpy_helper.to_array(producer).copy()
        w[r.random(c) < 0.03] *= 0.01
        producer.CopyFrom(numpy_helper.from_array(w, producer.name))
        self.bns.append((x, name))
        var = np.ones(c)
        mean = np.zeros(c)
        gamma = np.abs(r.normal(1, 0.35, c))
        gamma[r.random(c) < 0.03] = r.uniform(0, 0.02, 1)
        beta = r.normal(0, 0.25, c)
        ins = [x] + [self.init(f"{name}.{n}", a) for n, a in
                     (("weight", gamma), ("bias", beta), ("running_mean", mean), ("running_var", var))]
        return self.node("BatchNormalization", ins, name, epsilon=1e-5, momentum=0.9)


def resnet(b, x, depth):
    x = b.conv(x, "conv1", 3, b.ch(64), 7, 2)
    x = b.node("Relu", [b.bn(x, "bn1", b.ch(64))], "relu")
    x = b.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    bottleneck = depth >= 50
    blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}[depth]
    cin = b.ch(64)
    for stage, n in enumerate(blocks):
        width = b.ch(64 << stage)
        cout = width * 4 if bottleneck else width
        for i in range(n):
            s = 2 if i == 0 and stage > 0 else 1
            p = f"layer{stage + 1}.{i}"
            if bottleneck:
                y = b.node("Relu", [b.bn(b.conv(x, f"{p}.conv1", cin, width, 1), f"{p}.bn1", width)], f"{p}.relu1")
                y = b.node("Relu", [b.bn(b.conv(y, f"{p}.conv2", width, width, 3, s), f"{p}.bn2", width)], f"{p}.relu2")
                y = b.bn(b.conv(y, f"{p}.conv3", width, cout, 1), f"{p}.bn3", cout)
            else:
                y = b.node("Relu", [b.bn(b.conv(x, f"{p}.conv1", cin, width, 3, s), f"{p}.bn1", width)], f"{p}.relu1")
                y = b.bn(b.conv(y, f"{p}.conv2", width, cout, 3), f"{p}.bn2", cout)
            short = x
            if s != 1 or cin != cout:
                short = b.bn(b.conv(x, f"{p}.downsample.0", cin, cout, 1, s), f"{p}.downsample.1", cout)
            x = b.node("Relu", [b.node("Add", [y, short], f"{p}.add")], f"{p}.relu")
            cin = cout
    return head(b, x, cin, dropout=0.0)


def head(b, x, c, dropout):
    x = b.node("GlobalAveragePool", [x], "avgpool")
    x = b.node("Flatten", [x], "flatten", axis=1)
    if dropout > 0:
        x = b.node("Dropout", [x, b.init("classifier.0.ratio", np.array(dropout))], "classifier.0")
    w = b.rng.normal(0, np.sqrt(1.0 / c), (1000, c))
    return b.node("Gemm", [x, b.init("fc.weight", w), b.init("fc.bias", b.rng.normal(0, 0.01, 1000))], "fc", transB=1)


def mobilenetv2(b, x):
    def cbr(x, name, cin, cout, k, s=1, groups=1):
        y = b.bn(b.conv(x, f"{name}.0", cin, cout, k, s, groups), f"{name}.1", cout)
        return b.node("Clip", [y, b.init(f"{name}.min", np.array(0.0)), b.init(f"{name}.max", np.array(6.0))], f"{name}.2")

    cin = b.ch(32)
    x = cbr(x, "features.0", 3, cin, 3, 2)
    index = 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        cout = b.ch(c)
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"features.{index}.conv"
            hidden = cin * t
            y, j = x, 0
            if t != 1:
                y = cbr(y, f"{p}.{j}", cin, hidden, 1); j += 1
            y = cbr(y, f"{p}.{j}", hidden, hidden, 3, stride, groups=hidden); j += 1
            y = b.bn(b.conv(y, f"{p}.{j}", hidden, cout, 1), f"{p}.{j + 1}", cout)
            x = b.node("Add", [x, y], f"features.{index}.add") if stride == 1 and cin == cout else y
            cin = cout
            index += 1
    last = b.ch(1280)
    x = cbr(x, f"features.{index}", cin, last, 1)
    return head(b, x, last, dropout=0.2)


def build(name, batch, width, size, seed):
    b = Builder(np.random.default_rng(seed), width)
    dim = batch if batch else "N"
    x = "input"
    out = {"resnet18": lambda: resnet(b, x, 18), "resnet50": lambda: resnet(b, x, 50),
           "mobilenetv2": lambda: mobilenetv2(b, x)}[name]()
    graph = helper.make_graph(
        b.nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [dim, 3, size, size])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [dim, 1000])], b.inits)
    model = helper.make_model(graph, producer_name="make_zoo_models.py", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    calibrate(model, b, size, seed)
    onnx.checker.check_model(model, full_check=True)
    return model


def calibrate(model, b, size, seed):
    """Sets running statistics near the measured ones (see the module doc). BNs are settled in
    order: a round measures every BN input, accepts the new statistics of BNs up to the first
    one that moves by more than 10 % (everything after it saw stale inputs), and runs again."""
    import onnxruntime as ort
    x = np.random.default_rng(seed + 1).standard_normal((4, 3, size, size)).astype(np.float32)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    for value, _ in b.bns:
        probe.graph.output.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, None))
    settled = 0
    while settled < len(b.bns):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
        outs = sess.run([v for v, _ in b.bns[settled:]], {"input": x})
        inits = {t.name: t for t in probe.graph.initializer}
        for (value, name), y in zip(b.bns[settled:], outs):
            y = y.astype(np.float64)
            m, v = y.mean(axis=(0, 2, 3)), y.var(axis=(0, 2, 3)) + 1e-12
            jitter = np.random.default_rng(zlib.crc32(name.encode()))  # the same noise every round
            mean = m + jitter.normal(0, 0.1, len(m)) * np.sqrt(v)
            var = v * np.exp(jitter.normal(0, 0.25, len(m)))
            old = numpy_helper.to_array(inits[f"{name}.running_var"]).astype(np.float64)
            for t, a in ((f"{name}.running_mean", mean), (f"{name}.running_var", var)):
                inits[t].CopyFrom(numpy_helper.from_array(a.astype(np.float32), t))
            settled += 1
            if np.max(np.abs(np.log(var / old))) > 0.1:
                break  # the BNs after this one saw its old statistics: measure them again
    calibrated = {t.name: t for t in probe.graph.initializer}
    for t in model.graph.initializer:
        t.CopyFrom(calibrated[t.name])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--models", default="resnet18,resnet50,mobilenetv2")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name in a.models.split(","):
        model = build(name, a.batch, a.width, a.size, a.seed)
        suffix = (f"_w{a.width:g}" if a.width != 1 else "") + (f"_b{a.batch}" if a.batch else "")
        path = os.path.join(a.out, f"{name}{suffix}.onnx")
        onnx.save(model, path)
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
