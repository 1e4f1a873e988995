#!/usr/bin/env python3
"""Writes fixtures/torch-1d: a small 1-D (audio/sequence) CNN exported by torch.onnx.export.

Conv1d → BatchNorm1d → ReLU → MaxPool1d → Conv1d (stride 2, dilation 2) → BatchNorm1d → ReLU →
MaxPool1d → Flatten → Linear, input 2×4×64. Seeded weights and BatchNorm statistics from
make_torch_fixtures.randomize, eval mode, the legacy exporter at opset 17 with constant folding
off (`export(..., fold=False)`), so both BatchNormalization nodes reach the file.

Also conv1d_affine: Conv1d → ReLU → BatchNorm1d → ReLU → Flatten → Linear, input 2×3×16, whose
BatchNorm1d sits between two ReLUs and cannot fold (it becomes a per-channel affine).

Writes NAME.onnx, NAME.input.npy (seeded input) and NAME.output.npy (torch's eval-mode output)
for both, and checks onnxruntime agrees with torch (< 1e-5 relative to 1 + |torch|).

Usage: /work/venv/bin/python scripts/make_conv1d_fixture.py [OUT_DIR]   (default fixtures/torch-1d)
"""
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_fixtures import export, randomize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fixtures", "torch-1d")


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(4, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(8, 16, 3, stride=2, padding=2, dilation=2, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
            nn.MaxPool1d(2),
        )
        self.head = nn.Linear(16 * 8, 5)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class Conv1dAffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(3, 6, 3, padding=1), nn.ReLU(), nn.BatchNorm1d(6), nn.ReLU())
        self.head = nn.Linear(6 * 16, 4)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def write(name, cls, shape, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = cls()
    randomize(model, gen)
    model.eval()
    x = torch.randn(*shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, name + ".onnx")
    export(model, x, path, fold=False)
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    err = float(np.max(np.abs(got - y.numpy()) / (1 + np.abs(y.numpy()))))
    assert err < 1e-5, f"onnxruntime vs torch: {err}"
    np.save(os.path.join(OUT, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, name + ".output.npy"), y.numpy().astype(np.float32))
    print(f"wrote {path} (onnxruntime vs torch {err:.2e})")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("conv1d_bn", Conv1dNet, (2, 4, 64), 1)
    write("conv1d_affine", Conv1dAffineNet, (2, 3, 16), 3)


if __name__ == "__main__":
    main()
