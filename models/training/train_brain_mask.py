"""Trains models/brain-mask-2d: a small 2D U-Net that segments the brain on MR slices.

Data: Colin27 T1 (ch2.nii.gz) and its brain-extracted twin (ch2bet.nii.gz, mask = ch2bet > 0) from Debian's
mricron-data (MRIcron templates, BSD-3, Chris Rorden). Slices from all three planes of the volume resampled to
1, 2 and 3 mm on an LPS grid, per-volume z-score, each slice resized bilinearly to 128x128.
Held out: every slice whose index % 5 == 2 (in every plane and resolution).

Run: /usr/bin/python3 models/training/train_brain_mask.py   (CPU, one thread, a few minutes)
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa: E402
    PLANES, REPO_MODELS, affine_theta, export_onnx, load_colin27, make_reproducible, plane_count, plane_slice,
    warp, write_manifest,
)
from nets import BrainMaskUNet  # noqa: E402

MODEL_ID = "brain-mask-2d"
SIZE = 128
SEED = 20240601
STEPS = int(os.environ.get("STEPS", "600"))
BATCH = 12
SPACINGS = {1.0: 0.3, 2.0: 0.45, 3.0: 0.25}  # resolution -> sampling weight


def is_held_out(index: int) -> bool:
    return index % 5 == 2


def build_bank():
    """(spacing, plane) -> list of (index, image, mask) slices at native size."""
    bank = {}
    for spacing in SPACINGS:
        vol, mask = load_colin27(spacing)
        maskf = mask.astype(np.float32)
        for plane in PLANES:
            bank[(spacing, plane)] = [
                (i, plane_slice(vol, plane, i).copy(), plane_slice(maskf, plane, i).copy()) for i in range(plane_count(vol, plane))
            ]
    return bank


def random_theta(rng: np.random.RandomState) -> torch.Tensor:
    return affine_theta(
        rot_deg=rng.uniform(-12, 12),
        zoom=(rng.uniform(0.85, 1.2), rng.uniform(0.85, 1.2)),
        shift=(rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)),
        flip=(rng.rand() < 0.5, rng.rand() < 0.1),
    )


def make_sample(img, msk, rng, augment: bool):
    theta = random_theta(rng) if augment else affine_theta()
    x = warp(img, SIZE, theta)
    y = (warp(msk, SIZE, theta) > 0.5).long()
    if augment:
        x = x * float(rng.uniform(0.8, 1.25)) + float(rng.uniform(-0.2, 0.2))
        noise = torch.from_numpy(rng.randn(SIZE, SIZE).astype(np.float32))
        x = x + float(rng.uniform(0.0, 0.1)) * noise
    return x, y


def sample_batch(bank, rng, n):
    keys = list(bank.keys())
    weights = np.array([SPACINGS[k[0]] for k in keys])
    weights = weights / weights.sum()
    xs, ys = [], []
    for _ in range(n):
        key = keys[rng.choice(len(keys), p=weights)]
        train = [s for s in bank[key] if not is_held_out(s[0])]
        _, img, msk = train[rng.randint(len(train))]
        x, y = make_sample(img, msk, rng, augment=True)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs)[:, None], torch.stack(ys)


def loss_fn(logits, target):
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, dim=1)[:, 1]
    t = target.float()
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return ce + dice


def evaluate(model, bank, augment: bool, seed: int):
    """Global Dice over held-out slices, per plane and overall."""
    rng = np.random.RandomState(seed)
    stats = {}
    model.eval()
    with torch.no_grad():
        for (spacing, plane), slices in bank.items():
            held = [s for s in slices if is_held_out(s[0])]
            pairs = [make_sample(img, msk, rng, augment) for _, img, msk in held]
            x = torch.stack([p[0] for p in pairs])[:, None]
            y = torch.stack([p[1] for p in pairs])
            pred = model(x).argmax(dim=1)
            inter = int(((pred == 1) & (y == 1)).sum())
            total = int((pred == 1).sum() + (y == 1).sum())
            for key in (plane, f"{spacing:g}mm", "all"):
                a = stats.setdefault(key, [0, 0, 0])
                a[0] += inter
                a[1] += total
                a[2] += len(held)
    return {k: {"dice": round(2 * v[0] / max(v[1], 1), 4), "slices": v[2]} for k, v in stats.items()}


def main():
    make_reproducible(SEED)
    t0 = time.time()
    bank = build_bank()
    print(f"bank built in {time.time() - t0:.1f}s", flush=True)
    rng = np.random.RandomState(SEED)
    model = BrainMaskUNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.15)
    for step in range(STEPS):
        model.train()
        x, y = sample_batch(bank, rng, BATCH)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.4f} t={time.time() - t0:.0f}s", flush=True)

    clean = evaluate(model, bank, augment=False, seed=1)
    augmented = evaluate(model, bank, augment=True, seed=2)
    print("held-out clean", json.dumps(clean))
    print("held-out augmented", json.dumps(augmented))

    model_dir = os.environ.get("MODEL_DIR", os.path.join(REPO_MODELS, MODEL_ID))  # override for reproducibility checks
    os.makedirs(model_dir, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(model_dir, "weights.pt"))
    digest = export_onnx(model, torch.zeros(1, 1, SIZE, SIZE), os.path.join(model_dir, "model.onnx"), dynamic_batch=True)
    with open(os.path.join(model_dir, "metrics.json"), "w") as f:
        json.dump({"steps": STEPS, "batch": BATCH, "seed": SEED, "heldOutClean": clean, "heldOutAugmented": augmented}, f, indent=2)
        f.write("\n")
    write_manifest(model_dir, manifest(digest))
    print(f"done in {time.time() - t0:.0f}s; sha256 {digest}")


def manifest(digest: str) -> dict:
    return {
        "id": MODEL_ID,
        "name": "Brain mask 2D (demonstration)",
        "version": "1.0.0",
        "description": "Small 2D U-Net that segments the brain on MR slices of any plane. Trained on one subject "
        "(Colin27, MRIcron templates); a demonstration model, not for clinical use.",
        "task": "segmentation",
        "file": "model.onnx",
        "sha256": digest,
        "manufacturer": "clinical-ai",
        "select": {"modality": ["MR"], "minSlices": 16},
        "io": {"input": "image", "output": "logits", "layout": "slices", "outputKind": "logits"},
        "preprocessing": {"normalize": "zscore", "inputSize": [SIZE, SIZE]},
        "segments": [
            {
                "labelValue": 1,
                "label": "Brain",
                "category": {"value": "91723000", "scheme": "SCT", "meaning": "Anatomical Structure"},
                "type": {"value": "12738006", "scheme": "SCT", "meaning": "Brain"},
            }
        ],
        "intendedUse": "Demonstration of the clinical-ai pipeline only. Not a medical device; not for clinical use.",
    }


if __name__ == "__main__":
    main()
