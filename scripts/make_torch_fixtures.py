#!/usr/bin/env python3
"""Writes fixtures/torch: small PyTorch CNNs exported by torch.onnx.export itself.

Issue 5 asks for "a real exporter's output". Each model here is built in PyTorch, given seeded
random weights and realistic BatchNorm running statistics (nothing is trained), put in eval mode
and exported with the legacy TorchScript exporter (torch.onnx.export(..., dynamo=False),
opset 17). Each model is exported twice:

  <name>.onnx           the exporter's defaults (do_constant_folding=True): torch itself fuses
                        Conv+BatchNormalization in eval mode, so only the BatchNorms that do not
                        follow a conv (BatchNorm1d after Linear) reach the file;
  <name>.nofold.onnx    do_constant_folding=False: every BatchNormalization is kept, as an
                        exporter writes them when constant folding is off.

Eval-mode Dropout / Dropout2d are no-ops that the exporter drops (its symbolic returns the input
when train=False), so no torch-written file holds a Dropout node; the models still contain them.

Beside each model: <name>.input.npy (seeded input, float32) and <name>.output.npy (torch's own
eval-mode output, float32). The script checks onnxruntime agrees with torch on both files.

Usage: python3 scripts/make_torch_fixtures.py [OUT_DIR]   (default fixtures/torch)
Versions used: torch 2.13.0+cpu, onnx 1.19.1, onnxruntime 1.23.2, numpy (see README.md there).
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fixtures", "torch")


def conv_bn(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout, 3, 1)
        self.short = None if stride == 1 and cin == cout else conv_bn(cin, cout, 1, stride)

    def forward(self, x):
        y = self.b(F.relu(self.a(x)))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s)


class ResNetMini(nn.Module):
    """conv-bn-relu stem, max pool, two basic blocks (identity and 1x1-conv shortcut),
    Dropout2d, global average pool, flatten, Linear, BatchNorm1d, ReLU, Dropout, Linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.block1 = BasicBlock(8, 8)
        self.block2 = BasicBlock(8, 16, stride=2)
        self.drop2d = nn.Dropout2d(0.2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 32)
        self.bn1d = nn.BatchNorm1d(32)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = self.drop2d(self.block2(self.block1(x)))
        x = torch.flatten(self.gap(x), 1)
        x = self.drop(F.relu(self.bn1d(self.fc1(x))))
        return self.fc2(x)


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, c, expand, act, se):
        super().__init__()
        h = c * expand
        self.expand = conv_bn(c, h, 1)
        self.dw = conv_bn(h, h, 3, groups=h)
        self.act = act
        self.se = SqueezeExcite(h) if se else nn.Identity()
        self.project = conv_bn(h, c, 1)

    def forward(self, x):
        y = self.act(self.expand(x))
        y = self.act(self.dw(y))
        return x + self.project(self.se(y))


class MobileNetMini(nn.Module):
    """MobileNetV2/V3-style: Hardswish stem (stride 2), an inverted residual with ReLU6, one with
    Hardswish and squeeze-and-excitation (Hardsigmoid gate), Dropout2d, then a dense-prediction
    head: nearest x2 upsampling (nn.Upsample), a conv-bn-ReLU6, bilinear resize back to the
    input size (F.interpolate, align_corners=False), a 1x1 classifier conv."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.Hardswish())
        self.ir1 = InvertedResidual(8, 3, nn.ReLU6(), se=False)
        self.ir2 = InvertedResidual(8, 2, nn.Hardswish(), se=True)
        self.drop2d = nn.Dropout2d(0.1)
        self.down = nn.Sequential(nn.Conv2d(8, 12, 3, stride=2, padding=1, groups=4, bias=False), nn.BatchNorm2d(12), nn.ReLU6())
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.mix = nn.Sequential(nn.Conv2d(12, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6())
        self.cls = nn.Conv2d(8, 5, 1)

    def forward(self, x):
        size = x.shape[-2:]
        y = self.drop2d(self.ir2(self.ir1(self.stem(x))))
        y = self.mix(self.up(self.down(y)))
        y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return self.cls(y)


class UNetMini(nn.Module):
    """U-Net-ish: encoder conv-bn-relu, max pool, bottleneck, ConvTranspose upsampling, Concat
    with the skip, BatchNorm straight after the Concat (no conv before it, so torch cannot fuse
    it), Dropout, Sigmoid output."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.bott = nn.Sequential(nn.Conv2d(6, 12, 3, padding=1), nn.BatchNorm2d(12), nn.LeakyReLU(0.1))
        self.upconv = nn.ConvTranspose2d(12, 6, 2, stride=2)
        self.bn_cat = nn.BatchNorm2d(12)
        self.drop = nn.Dropout(0.25)
        self.dec = nn.Sequential(nn.Conv2d(12, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU())
        self.out = nn.Conv2d(6, 2, 1)

    def forward(self, x):
        e = self.enc(x)
        b = self.bott(F.max_pool2d(e, 2))
        y = torch.cat([self.upconv(b), e], dim=1)
        y = self.drop(F.relu(self.bn_cat(y)))
        return torch.sigmoid(self.out(self.dec(y)))


MODELS = [
    ("resnet_mini", ResNetMini, (2, 3, 16, 16)),
    ("mobilenet_mini", MobileNetMini, (2, 3, 32, 32)),
    ("unet_mini", UNetMini, (2, 1, 16, 16)),
]


def randomize(model, gen):
    """Seeded weights, and BatchNorm running statistics and affine parameters away from 0/1."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                m.num_batches_tracked.fill_(100)


def export(model, x, path, fold):
    torch.onnx.export(
        model, (x,), path, opset_version=17, dynamo=False,
        input_names=["input"], output_names=["output"], do_constant_folding=fold,
    )
    onnx.checker.check_model(onnx.load(path), full_check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, cls, shape in MODELS:
        gen = torch.Generator().manual_seed(sum(map(ord, name)))
        torch.manual_seed(sum(map(ord, name)))
        model = cls()
        randomize(model, gen)
        model.eval()
        x = torch.randn(*shape, generator=gen)
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(OUT, f"{name}.input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(OUT, f"{name}.output.npy"), y.numpy().astype(np.float32))
        for suffix, fold in [("", True), (".nofold", False)]:
            path = os.path.join(OUT, f"{name}{suffix}.onnx")
            export(model, x, path, fold)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            (ours,) = sess.run(None, {"input": x.numpy()})
            err = float(np.max(np.abs(ours - y.numpy()) / (1 + np.abs(y.numpy()))))
            ops = sorted({n.op_type for n in onnx.load(path).graph.node})
            print(f"{name}{suffix}.onnx: {os.path.getsize(path)} bytes, onnxruntime vs torch {err:.2e}, ops {ops}")
            assert err < 1e-5, f"{path}: onnxruntime disagrees with torch ({err})"


if __name__ == "__main__":
    main()
