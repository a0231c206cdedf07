"""Exports the tiny 3D test networks used by the sliding-window and runtime tests to test/fixtures/models/.

These are not trained: their weights are a fixed-seed random initialisation. They exist to check tiling, blending,
padding, warm-up and the worker plumbing on real fully convolutional 3D ONNX graphs.

  pointwise3d  one 1x1x1 convolution, 1 -> 2 channels. Every output voxel depends only on its input voxel, so a
               sliding-window run with constant blending must equal a whole-volume run (up to float rounding).
  tiny-unet3d  a one-level 3D U-Net (conv-conv, max-pool, conv-conv, nearest upsample, skip concat, conv-conv,
               1x1x1 head), 1 -> 2 channels, dynamic batch and spatial axes (even sizes: one 2x pooling level).

Also writes tiny-unet3d/reference-{input,logits}.f32: a 12x16x20 input and PyTorch's own output for it, so the
tests can check that the ONNX graph computes what the PyTorch network computes.

Run: /usr/bin/python3 models/training/make_test_models.py   (CPU, one thread, a few seconds)
"""
import hashlib
import json
import os

import numpy as np
import torch
from torch import nn

SEED = 20261123
OUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "models"))


class Pointwise3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(1, 2, 1)

    def forward(self, x):
        return self.conv(x)


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv3d(cout, cout, 3, padding=1), nn.ReLU()
    )


class TinyUNet3d(nn.Module):
    """Receptive field radius: 2 (enc) + 2*(1+2) (pool, two half-resolution convs, upsample) + 2 (dec) = 10 voxels."""

    def __init__(self, w1: int = 4, w2: int = 8):
        super().__init__()
        self.enc = double_conv(1, w1)
        self.pool = nn.MaxPool3d(2)
        self.mid = double_conv(w1, w2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec = double_conv(w1 + w2, w1)
        self.head = nn.Conv3d(w1, 2, 1)

    def forward(self, x):
        e = self.enc(x)
        m = self.mid(self.pool(e))
        return self.head(self.dec(torch.cat([self.up(m), e], dim=1)))


def sha256_of(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export(model: nn.Module, folder: str, example: torch.Tensor) -> str:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    axes = {0: "batch", 2: "depth", 3: "height", 4: "width"}
    torch.onnx.export(
        model.eval(),
        example,
        path,
        input_names=["image"],
        output_names=["logits"],
        opset_version=13,
        dynamic_axes={"image": axes, "logits": axes},
        do_constant_folding=True,
    )
    import onnx

    onnx.checker.check_model(onnx.load(path))
    return sha256_of(path)


def manifest(model_id: str, name: str, description: str, digest: str, roi: int, blend: str) -> dict:
    return {
        "id": model_id,
        "name": name,
        "version": "0.0.1",
        "description": description,
        "task": "segmentation",
        "file": "model.onnx",
        "sha256": digest,
        "manufacturer": "clinical-ai tests",
        "select": {"modality": ["MR"]},
        "io": {
            "input": "image",
            "output": "logits",
            "layout": "volume",
            "outputKind": "logits",
            "slidingWindow": {"roiSize": [roi, roi, roi], "overlap": 0.25, "blend": blend, "sigmaScale": 0.125, "batchSize": 2},
        },
        "preprocessing": {"intensity": [{"op": "zscore"}]},
        "segments": [
            {
                "labelValue": 1,
                "label": "Test label",
                "category": {"value": "91723000", "scheme": "SCT", "meaning": "Anatomical Structure"},
                "type": {"value": "12738006", "scheme": "SCT", "meaning": "Brain"},
            }
        ],
        "intendedUse": "Test fixture with random weights; produces meaningless labels. Not for any use.",
    }


def write_json(path: str, obj: dict) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)

    point = Pointwise3d()
    folder = os.path.join(OUT, "pointwise3d")
    digest = export(point, folder, torch.zeros(1, 1, 8, 8, 8))
    write_json(
        os.path.join(folder, "manifest.json"),
        manifest("pointwise3d", "Pointwise 3D (test)", "One 1x1x1 convolution, 1 -> 2 channels; random weights.", digest, 32, "constant"),
    )

    unet = TinyUNet3d()
    with torch.no_grad():
        # Random init leaves many ReLUs dead; spread the weights so both output channels vary over the volume.
        for p in unet.parameters():
            p.mul_(2.0)
    folder = os.path.join(OUT, "tiny-unet3d")
    digest = export(unet, folder, torch.zeros(1, 1, 16, 16, 16))
    params = sum(p.numel() for p in unet.parameters())
    write_json(
        os.path.join(folder, "manifest.json"),
        manifest(
            "tiny-unet3d",
            "Tiny 3D U-Net (test)",
            f"One-level 3D U-Net, {params} parameters, 1 -> 2 channels, dynamic spatial axes (even sizes); random weights.",
            digest,
            32,
            "gaussian",
        ),
    )
    x = torch.from_numpy(np.random.standard_normal((1, 1, 12, 16, 20)).astype(np.float32))
    with torch.no_grad():
        y = unet.eval()(x)
    x.numpy().astype("<f4").tofile(os.path.join(folder, "reference-input.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(folder, "reference-logits.f32"))
    print(f"pointwise3d and tiny-unet3d ({params} parameters, {os.path.getsize(os.path.join(folder, 'model.onnx'))} bytes) written to {OUT}")


if __name__ == "__main__":
    main()
