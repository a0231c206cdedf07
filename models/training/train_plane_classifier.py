"""Trains models/mr-plane-classifier: which plane (axial, sagittal, coronal) one MR slice was acquired in.

Input: the middle slice of a series, z-scored over that slice, resized bilinearly to 64x64 -> logits [1,3].
Data: Colin27 T1 (ch2.nii.gz, MRIcron templates, BSD-3, Chris Rorden) resampled to 1, 1.5, 2 and 3 mm on an LPS
grid; labels are the plane each slice is cut in (DICOM conventions in common.py). Augmentation: slice offsets
around the middle (+-25 % of the extent), field of view (zoom/shift), small rotations, gamma, noise.
Held out: slices whose index % 5 == 2, evaluated with augmentations drawn from a separate seed.

Run: /usr/bin/python3 models/training/train_plane_classifier.py   (CPU, one thread, about a minute)
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
    PLANES, REPO_MODELS, T1_PATH, affine_theta, export_onnx, make_reproducible, plane_count, plane_slice,
    resample_to_lps, warp, write_manifest,
)
from nets import PlaneClassifier  # noqa: E402
from nifti import read_nifti  # noqa: E402

MODEL_ID = "mr-plane-classifier"
SIZE = 64
SEED = 20240602
STEPS = int(os.environ.get("STEPS", "800"))
BATCH = 32
SPACINGS = (1.0, 1.5, 2.0, 3.0)
# SNOMED CT view/plane concepts as DICOM uses them (PS3.17 View Code Sequence examples; CID 6).
CLASSES = [
    ("axial", {"value": "62824007", "scheme": "SCT", "meaning": "Transverse"}),
    ("sagittal", {"value": "30730003", "scheme": "SCT", "meaning": "Sagittal"}),
    ("coronal", {"value": "81654009", "scheme": "SCT", "meaning": "Coronal"}),
]


def is_held_out(index: int) -> bool:
    return index % 5 == 2


def load_volumes():
    t1 = read_nifti(T1_PATH)
    vols = []
    for s in SPACINGS:
        v = resample_to_lps(t1.data, t1.affine, s)
        vols.append(v / float(v.max()))  # raw scale in [0, 1]; background (air) stays 0
    return vols


def sample(vols, rng, held_out: bool, augment: bool = True, offset_frac: float = 0.25):
    vol = vols[rng.randint(len(vols))]
    label = rng.randint(3)
    plane = PLANES[label]
    n = plane_count(vol, plane)
    mid = n // 2
    for _ in range(100):
        idx = mid + int(round(rng.uniform(-offset_frac, offset_frac) * n)) if augment else mid
        idx = min(max(idx, 0), n - 1)
        if not augment or is_held_out(idx) == held_out:
            break
    img = plane_slice(vol, plane, idx)
    theta = (
        affine_theta(
            rot_deg=rng.uniform(-15, 15),
            zoom=(rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.25)),
            shift=(rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)),
        )
        if augment
        else affine_theta()
    )
    x = warp(img, SIZE, theta)
    if augment:
        x = x.clamp(min=0) ** float(rng.uniform(0.7, 1.5))
        x = x + float(rng.uniform(0, 0.05)) * torch.from_numpy(rng.randn(SIZE, SIZE).astype(np.float32))
    x = (x - x.mean()) / x.std().clamp(min=1e-6)  # z-score over the slice, as the service does
    return x, label


def batch(vols, rng, n, held_out=False):
    pairs = [sample(vols, rng, held_out) for _ in range(n)]
    return torch.stack([p[0] for p in pairs])[:, None], torch.tensor([p[1] for p in pairs])


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    per_class = {PLANES[c]: round(float((pred[y == c] == c).float().mean()), 4) for c in range(3)}
    return round(float((pred == y).float().mean()), 4), per_class


def main():
    make_reproducible(SEED)
    t0 = time.time()
    vols = load_volumes()
    print(f"volumes in {time.time() - t0:.1f}s", flush=True)
    rng = np.random.RandomState(SEED)
    model = PlaneClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.15)
    for step in range(STEPS):
        model.train()
        x, y = batch(vols, rng, BATCH)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.4f} t={time.time() - t0:.0f}s", flush=True)

    eval_rng = np.random.RandomState(SEED + 1)
    xh, yh = batch(vols, eval_rng, 600, held_out=True)
    held_acc, held_per_class = accuracy(model, xh, yh)
    # The exact middle slice of every plane at every resolution, no augmentation.
    mids = [(v, p) for v in vols for p in range(3)]
    xm = torch.stack([warp(plane_slice(v, PLANES[p], plane_count(v, PLANES[p]) // 2), SIZE, affine_theta()) for v, p in mids])
    xm = ((xm - xm.mean(dim=(1, 2), keepdim=True)) / xm.std(dim=(1, 2), keepdim=True))[:, None]
    mid_acc, _ = accuracy(model, xm, torch.tensor([p for _, p in mids]))
    metrics = {
        "steps": STEPS,
        "batch": BATCH,
        "seed": SEED,
        "heldOutAugmented": {"n": 600, "accuracy": held_acc, "perClass": held_per_class},
        "middleSlicesClean": {"n": len(mids), "accuracy": mid_acc},
    }
    print(json.dumps(metrics))

    model_dir = os.environ.get("MODEL_DIR", os.path.join(REPO_MODELS, MODEL_ID))  # override for reproducibility checks
    os.makedirs(model_dir, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(model_dir, "weights.pt"))
    digest = export_onnx(model, torch.zeros(1, 1, SIZE, SIZE), os.path.join(model_dir, "model.onnx"), dynamic_batch=False)
    with open(os.path.join(model_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    write_manifest(model_dir, manifest(digest))
    print(f"done in {time.time() - t0:.0f}s; sha256 {digest}")


def manifest(digest: str) -> dict:
    return {
        "id": MODEL_ID,
        "name": "MR plane classifier (demonstration)",
        "version": "1.0.0",
        "description": "Small CNN that tells from the middle slice of an MR series whether it was acquired axial, "
        "sagittal or coronal. Trained on one subject (Colin27, MRIcron templates); a demonstration model, "
        "not for clinical use.",
        "task": "classification",
        "file": "model.onnx",
        "sha256": digest,
        "manufacturer": "clinical-ai",
        "select": {"modality": ["MR"]},
        "io": {"input": "image", "output": "logits", "layout": "slice-stack", "outputKind": "logits", "stackSlices": 1},
        "preprocessing": {"normalize": "zscore", "inputSize": [SIZE, SIZE]},
        "classes": [{"index": i, "label": label, "code": code, "threshold": 0.5} for i, (label, code) in enumerate(CLASSES)],
        "intendedUse": "Demonstration of the clinical-ai pipeline only. Not a medical device; not for clinical use.",
    }


if __name__ == "__main__":
    main()
