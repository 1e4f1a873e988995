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

With --modern it writes fixtures/torch-modern instead (see MODERN_MODELS and the README there):
a YOLOv8-style detector and an SVTR-style text recognizer, exported with a symbolic batch
(dynamic_axes), at opset 17 with and without constant folding, and the recognizer also at opset 13
(where LayerNormalization is not an ONNX op, so every LayerNorm becomes ReduceMean/Sub/Pow/Sqrt/Div).

Usage: python3 scripts/make_torch_fixtures.py [OUT_DIR]   (default fixtures/torch)
       python3 scripts/make_torch_fixtures.py --modern [OUT_DIR]   (default fixtures/torch-modern)
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
OUT = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--modern" else os.path.join(ROOT, "fixtures", "torch")


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


# ---------------------------------------------------------------------------------------------
# Modern exports (issue #11): general tensor ops around the convs. Written to fixtures/torch-modern
# by `--modern`, with a symbolic batch (dynamic_axes) so the exporter writes its Shape/Gather/
# Concat → Reshape arithmetic, checked against onnxruntime at batch 1, 2 and 3.


class ConvBNSiLU(nn.Module):
    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1 = ConvBNSiLU(c, c, 3)
        self.cv2 = ConvBNSiLU(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """YOLOv8's C2f: 1x1 conv, chunk in two (Split), n bottlenecks on the last chunk, Concat of
    every intermediate, 1x1 conv."""

    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = ConvBNSiLU(c1, 2 * self.c, 1)
        self.cv2 = ConvBNSiLU((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5x5 stride-1 max pools, Concat, 1x1 conv."""

    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = ConvBNSiLU(c1, c_, 1)
        self.cv2 = ConvBNSiLU(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class DFL(nn.Module):
    """Distribution focal loss decoding: softmax over 16 bins, expectation by a fixed 1x1 conv
    whose weights are arange(16)."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(sizes, strides, offset=0.5):
    points, stride_tensor = [], []
    for (h, w), s in zip(sizes, strides):
        sy, sx = torch.meshgrid(torch.arange(h, dtype=torch.float) + offset, torch.arange(w, dtype=torch.float) + offset, indexing="ij")
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(torch.full((h * w, 1), float(s)))
    return torch.cat(points).transpose(0, 1), torch.cat(stride_tensor).transpose(0, 1)


class YOLOMini(nn.Module):
    """YOLOv8-style detector: Conv-BN-SiLU backbone with C2f blocks and SPPF, an FPN/PAN neck
    (nearest Upsample + Concat, strided conv + Concat), a decoupled head on two levels (strides 8
    and 16), box decoding with DFL (Reshape → Transpose → Softmax → arange 1x1 conv), anchor points,
    chunk of the distances, Sub/Add/Div/Mul to xywh, Concat with sigmoid class scores.
    Output [N, 4 + nc, A] with A = 8·8 + 4·4 anchors for a 64x64 input."""

    def __init__(self, nc=4, reg_max=16, size=64):
        super().__init__()
        self.nc, self.reg_max = nc, reg_max
        self.stem = ConvBNSiLU(3, 8, 3, 2)          # /2
        self.down1 = ConvBNSiLU(8, 16, 3, 2)        # /4
        self.c2f1 = C2f(16, 16, 1)
        self.down2 = ConvBNSiLU(16, 24, 3, 2)       # /8  (P3)
        self.c2f2 = C2f(24, 24, 1)
        self.down3 = ConvBNSiLU(24, 32, 3, 2)       # /16 (P4)
        self.c2f3 = C2f(32, 32, 1)
        self.sppf = SPPF(32, 32)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.neck1 = C2f(32 + 24, 24, 1, shortcut=False)
        self.down4 = ConvBNSiLU(24, 24, 3, 2)
        self.neck2 = C2f(24 + 32, 32, 1, shortcut=False)
        chans, c2, c3 = (24, 32), 16, 16
        self.box = nn.ModuleList(nn.Sequential(ConvBNSiLU(c, c2, 3), ConvBNSiLU(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for c in chans)
        self.cls = nn.ModuleList(nn.Sequential(ConvBNSiLU(c, c3, 3), ConvBNSiLU(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in chans)
        self.dfl = DFL(reg_max)
        anchors, strides = make_anchors([(size // 8, size // 8), (size // 16, size // 16)], [8, 16])
        self.register_buffer("anchors", anchors.unsqueeze(0))
        self.register_buffer("strides", strides)

    def forward(self, x):
        p3 = self.c2f2(self.down2(self.c2f1(self.down1(self.stem(x)))))
        p4 = self.sppf(self.c2f3(self.down3(p3)))
        n3 = self.neck1(torch.cat((self.up(p4), p3), 1))
        n4 = self.neck2(torch.cat((self.down4(n3), p4), 1))
        no = 4 * self.reg_max + self.nc
        feats = [torch.cat((b(f), c(f)), 1) for f, b, c in zip((n3, n4), self.box, self.cls)]
        x_cat = torch.cat([f.view(x.shape[0], no, -1) for f in feats], 2)
        box, cls = x_cat.split((4 * self.reg_max, self.nc), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        x1y1 = self.anchors - lt
        x2y2 = self.anchors + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.strides
        return torch.cat((xywh, cls.sigmoid()), 1)


class Attention(nn.Module):
    """Multi-head self-attention written out: Linear qkv, reshape/permute to heads, q@kᵀ·scale,
    softmax, @v, back to tokens, Linear projection."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.dh = heads, dim // heads
        self.scale = self.dh ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class MixerBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=2):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SVTRMini(nn.Module):
    """SVTR-style text recognizer: patch-embedding stem (Conv-BN-GELU, Conv-BN-Hardswish, both
    stride 2), flatten to tokens (x.flatten(2).transpose(1, 2)), a learned position embedding,
    two pre-norm transformer blocks (LayerNorm, written-out multi-head attention, GELU MLP), a
    final LayerNorm, mean over tokens (ReduceMean) and a Linear head. Input [N, 3, 32, 128] →
    [N, 37]."""

    def __init__(self, dim=32, heads=2, classes=37, size=(32, 128)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, dim // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(dim // 2), nn.GELU(),
            nn.Conv2d(dim // 2, dim, 3, 2, 1, bias=False), nn.BatchNorm2d(dim), nn.Hardswish(),
        )
        tokens = (size[0] // 4) * (size[1] // 4)
        self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
        self.blocks = nn.Sequential(MixerBlock(dim, heads), MixerBlock(dim, heads))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x.mean(1))


# name, class, input shape of the saved .input.npy, exports: (file suffix, opset, constant folding)
MODERN_MODELS = [
    ("yolo_mini", YOLOMini, (2, 3, 64, 64), [("", 17, True), (".nofold", 17, False)]),
    ("svtr_mini", SVTRMini, (2, 3, 32, 128), [("", 17, True), (".nofold", 17, False), (".opset13", 13, True)]),
]


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


def randomize_modern(model, gen):
    """As `randomize`, plus LayerNorm affine parameters away from 1/0 and a position embedding."""
    randomize(model, gen)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
        for name, p in model.named_parameters():
            if name == "pos":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


def export_dynamic(model, x, path, opset, fold):
    torch.onnx.export(
        model, (x,), path, opset_version=opset, dynamo=False,
        input_names=["input"], output_names=["output"], do_constant_folding=fold,
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
    onnx.checker.check_model(onnx.load(path), full_check=True)


def main_modern(out):
    """Writes the MODERN_MODELS to `out` (fixtures/torch-modern): each model at a symbolic batch,
    checked against torch by onnxruntime at batch 1, 2 (the saved input) and 3."""
    os.makedirs(out, exist_ok=True)
    for name, cls, shape, exports in MODERN_MODELS:
        gen = torch.Generator().manual_seed(sum(map(ord, name)))
        torch.manual_seed(sum(map(ord, name)))
        model = cls()
        randomize_modern(model, gen)
        model.eval()
        x = torch.randn(*shape, generator=gen)
        others = [torch.randn(b, *shape[1:], generator=gen) for b in (1, 3)]
        with torch.no_grad():
            y = model(x)
            others = [(o, model(o)) for o in others]
        np.save(os.path.join(out, f"{name}.input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, f"{name}.output.npy"), y.numpy().astype(np.float32))
        for suffix, opset, fold in exports:
            path = os.path.join(out, f"{name}{suffix}.onnx")
            export_dynamic(model, x, path, opset, fold)
            size = os.path.getsize(path)
            assert size < 1 << 20, f"{path}: {size} bytes, over 1 MiB"
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            errs = []
            for xi, yi in [(x, y)] + others:
                (ours,) = sess.run(None, {"input": xi.numpy()})
                assert ours.shape == tuple(yi.shape), f"{path}: onnxruntime shape {ours.shape} vs torch {tuple(yi.shape)}"
                errs.append(float(np.max(np.abs(ours - yi.numpy()) / (1 + np.abs(yi.numpy())))))
            ops = sorted({n.op_type for n in onnx.load(path).graph.node})
            print(f"{name}{suffix}.onnx (opset {opset}): {size} bytes, onnxruntime vs torch at batch 2/1/3 "
                  + "/".join(f"{e:.1e}" for e in errs) + f", ops {ops}")
            assert max(errs) < 1e-5, f"{path}: onnxruntime disagrees with torch ({errs})"


def main():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if "--modern" in sys.argv[1:]:
        args = [a for a in sys.argv[1:] if a != "--modern"]
        main_modern(args[0] if args else os.path.join(ROOT, "fixtures", "torch-modern"))
        return
    os.makedirs(OUT, exist_ok=True)
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
