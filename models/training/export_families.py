"""Exports the seed model families to ONNX and computes PyTorch reference outputs (docs/model-families.md).

Driven by scripts/model-families.ts (npm run model-families); two sub-commands:

  export     --out DIR --families a,b --size full|tiny
             writes DIR/<family>/model.onnx, weights.pt (state dict) and info.json (params, opset, input shape, notes).
  reference  --out DIR --families a,b --size full|tiny
             rebuilds each network, loads weights.pt, runs it on DIR/<family>/input.f32 (the tensor the plugin's
             pipeline fed to the model, written by the driver) and writes reference.f32 + reference.json (dims).

Weights are a fixed-seed random initialisation, with constant-initialised tensors (biases, norm scales, ViT's zero
head, ConvNeXt's 1e-6 layer scale) and BatchNorm running statistics perturbed, so that every operator has a visible
effect on the output. torchvision is needed only for densenet121-chexnet, convnext-tiny, vit-b16 and swin-tiny.

Run on CPU, one thread, deterministic algorithms: /usr/bin/python3 models/training/export_families.py export ...
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import family_nets as fn  # noqa: E402

SEED = 20261123
OPSET = 17


def torchvision_model(name: str, classes: int, sigmoid: bool = False) -> nn.Module:
    import torchvision.models as tvm

    model = getattr(tvm, name)(weights=None, num_classes=classes)
    if sigmoid:
        # CheXNet: DenseNet-121 whose classifier is Linear(1024, 14) followed by a sigmoid per finding.
        model.classifier = nn.Sequential(model.classifier, nn.Sigmoid())
    return model


# id -> builder(size) returning (model, input shape [N, C, ...]); full sizes are the published ones for torchvision
# models and small documented sizes for the self-written 3D ones; tiny sizes serve the CI test.
FAMILIES = {
    "densenet121-chexnet": lambda size: (torchvision_model("densenet121", 14, sigmoid=True), [1, 3, 224, 224]),
    "convnext-tiny": lambda size: (torchvision_model("convnext_tiny", 3), [1, 3, 224, 224]),
    "vit-b16": lambda size: (torchvision_model("vit_b_16", 4), [1, 3, 224, 224]),
    "swin-tiny": lambda size: (torchvision_model("swin_t", 3), [1, 3, 224, 224]),
    "deit-tiny-style": lambda size: (
        (fn.DeitStyleVit(), [1, 3, 224, 224]) if size == "full"
        else (fn.DeitStyleVit(img=64, hidden=64, layers=2, heads=2, mlp=128), [1, 3, 64, 64])
    ),
    "unet2d": lambda size: (
        (fn.UNet2d(base=32, depth=4), [2, 1, 256, 256]) if size == "full" else (fn.UNet2d(base=8, depth=3), [2, 1, 64, 64])
    ),
    "unet3d-nnunet": lambda size: (
        (fn.UNet3dNnunet(widths=(16, 32, 64, 128)), [1, 1, 64, 64, 64]) if size == "full"
        else (fn.UNet3dNnunet(widths=(4, 8, 16)), [1, 1, 16, 16, 16])
    ),
    "unetr-style": lambda size: (
        (fn.Unetr(img=64, hidden=192, layers=8, heads=4, mlp=384, feat=16), [1, 1, 64, 64, 64]) if size == "full"
        else (fn.Unetr(img=32, hidden=32, layers=4, heads=2, mlp=64, feat=4), [1, 1, 32, 32, 32])
    ),
    "segformer3d-style": lambda size: (
        (fn.SegFormer3d(dims=(32, 64, 160, 256), heads=(1, 2, 5, 8), decoder_dim=128), [1, 1, 64, 64, 64]) if size == "full"
        else (fn.SegFormer3d(dims=(8, 16, 32, 32), heads=(1, 1, 2, 2), depths=(1, 1, 1, 1), decoder_dim=16), [1, 1, 32, 32, 32])
    ),
    "transunet-style": lambda size: (
        (fn.TransUnet(img=224), [2, 1, 224, 224]) if size == "full"
        else (fn.TransUnet(img=64, widths=(8, 16, 32, 64), hidden=64, layers=2, heads=2, mlp=128), [2, 1, 64, 64])
    ),
}


# Workarounds beyond a plain torch.onnx.export, and numerical findings, per family (copied into the docs by the driver).
NOTES = {
    "unet3d-nnunet": "no workaround; element-wise errors near zero come from onnxruntime's InstanceNormalization, "
                     "whose normalised values are off by about 1e-5 of their magnitude (float32 sums over the whole 3D "
                     "patch; the same when written out as ReduceMean ops), see docs/decisions/0008",
    "unetr-style": "no workaround; same InstanceNormalization precision as unet3d-nnunet (conv-IN-LReLU blocks)",
    "vit-b16": "exported with autograd enabled so torch 1.13 traces nn.MultiheadAttention's plain path, not its fused "
               "inference fast path (aten::_native_multi_head_attention has no ONNX symbolic)",
    "swin-tiny": "no workaround needed: torch.roll (shifted windows) exports as Slice + Concat and the shift mask's "
                 "slice assignments as ScatterND; window padding as Pad",
}


def seed_everything() -> None:
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def perturb_constants(model: nn.Module) -> None:
    """Gives constant-initialised parameters and BatchNorm statistics some spread (see the module docstring)."""
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.numel() == 1 or float(p.std()) == 0.0:
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)


def build(family: str, size: str):
    seed_everything()
    model, shape = FAMILIES[family](size)
    perturb_constants(model)
    return model.eval(), shape


def export(family: str, size: str, out: str) -> None:
    model, shape = build(family, size)
    folder = os.path.join(out, family)
    os.makedirs(folder, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(folder, "weights.pt"))
    path = os.path.join(folder, "model.onnx")
    example = torch.randn(*shape, generator=torch.Generator().manual_seed(SEED))
    dynamic = {0: "batch"}
    # Export with autograd on: nn.MultiheadAttention (torchvision ViT) then takes its plain, exportable path.
    for p in model.parameters():
        p.requires_grad_(True)
    with torch.enable_grad():
        torch.onnx.export(
            model, example, path, input_names=["image"], output_names=["output"], opset_version=OPSET,
            dynamic_axes={"image": dynamic, "output": dynamic}, do_constant_folding=True,
        )
    import onnx

    onnx.checker.check_model(path)
    ops = sorted({n.op_type for n in onnx.load(path, load_external_data=False).graph.node})
    info = {
        "family": family,
        "size": size,
        "params": int(sum(p.numel() for p in model.parameters())),
        "opset": OPSET,
        "inputShape": shape,
        "onnxBytes": os.path.getsize(path),
        "operators": ops,
        "torch": torch.__version__,
        "notes": NOTES.get(family, ""),
    }
    with open(os.path.join(folder, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(f"exported {family}: {info['params']} params, {info['onnxBytes']} bytes", flush=True)


def reference(family: str, size: str, out: str) -> None:
    model, _ = build(family, size)
    folder = os.path.join(out, family)
    model.load_state_dict(torch.load(os.path.join(folder, "weights.pt")))
    with open(os.path.join(folder, "input.json")) as f:
        dims = json.load(f)["dims"]
    x = torch.from_numpy(np.fromfile(os.path.join(folder, "input.f32"), dtype="<f4").reshape(dims))
    with torch.no_grad():
        y = model(x).contiguous().float()
    y.numpy().astype("<f4").tofile(os.path.join(folder, "reference.f32"))
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump({"dims": list(y.shape)}, f)
    print(f"reference {family}: output {list(y.shape)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["export", "reference", "list"])
    parser.add_argument("--out", default="var/model-families")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--size", choices=["full", "tiny"], default="full")
    args = parser.parse_args()
    if args.command == "list":
        print("\n".join(FAMILIES))
        return
    families = [f for f in args.families.split(",") if f]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families: {', '.join(unknown)}")
    failed = []
    for family in families:
        try:
            (export if args.command == "export" else reference)(family, args.size, args.out)
        except Exception as err:  # noqa: BLE001 - one family's failure is reported, the others still run
            print(f"FAILED {family}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            failed.append(family)
    if failed:
        sys.exit(2)


if __name__ == "__main__":
    main()
