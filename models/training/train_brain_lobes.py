"""Trains models/optional/brain-lobes-2d: the brain-mask U-Net with a six-class head (background + five lobes),
on slices of simulated tilted/resampled series of Colin27, like train_brain_mask.py (same sampler, augmentation,
held-out tilt band and evaluation through an emulation of the service's 2D path).

Truth: the AAL atlas shipped with Debian's mricron-data (aal.nii.gz, 116 regions on the Colin27/MNI grid; names in
aal.nii.txt) grouped into lobes by region name (LOBE_OF_PREFIX below), then, inside the ch2bet brain mask, every
voxel that AAL leaves unlabelled (mostly white matter) takes the group of its nearest labelled voxel (grown one
voxel per step, 26-neighbourhood, up to FILL_STEPS mm). Regions that belong to no lobe here (insula, cingulate,
hippocampus/amygdala/parahippocampal, basal ganglia, thalamus) grow too, so that the lobes stop at them, and are then
set to background, as are brain voxels farther than FILL_STEPS from any region (brainstem).
Left and right are not separated: the sampler flips rows/columns, so a slice alone cannot tell the sides apart.

The network (nets.BrainLobesUNet: the brain-mask U-Net plus a context branch at 1/16 and 1/32 resolution at its
bottom, for a receptive field that spans the head) starts from models/brain-mask-2d/weights.pt (all layers but the head and the new block),
which already finds the brain on any plane; training then teaches it where the lobes are.

Writes model.onnx, weights.pt, metrics.json, manifest.json and truth-lobes.nii.gz (the lobe labels as uint8 NIfTI on
the Colin27 grid, used by the acceptance test) to models/optional/brain-lobes-2d/ (MODEL_DIR overrides).

Run: nice -n 10 /usr/bin/python3 models/training/train_brain_lobes.py   (CPU, two threads, about 20 min)
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BET_PATH, REPO_MODELS, TEMPLATES, export_onnx, make_reproducible, write_manifest  # noqa: E402
from nets import BrainLobesUNet  # noqa: E402
from nifti import read_nifti, write_uint8_like  # noqa: E402
from oblique_slices import VolumeSampler  # noqa: E402
from train_brain_mask import HELD_OUT, HELD_OUT_BAND, SIZE, Colin27, make_image_sample, nearest_back, predict_series_labels  # noqa: E402

MODEL_ID = "brain-lobes-2d"
SEED = 20241124
STEPS = int(os.environ.get("STEPS", "1300"))
BATCH = 16
FILL_STEPS = 12
AAL_PATH = os.path.join(TEMPLATES, "aal.nii.gz")
AAL_NAMES = os.path.join(TEMPLATES, "aal.nii.txt")
INIT_WEIGHTS = os.path.join(REPO_MODELS, "brain-mask-2d", "weights.pt")
TRUTH_FILE = "truth-lobes.nii.gz"  # the lobe labels on the Colin27 grid, read by test/integration/brain-lobes.test.ts

# (label value, name, SNOMED CT code of the structure, display sRGB)
LOBES = [
    (1, "Frontal lobe", "83251001", (70, 130, 230)),
    (2, "Parietal lobe", "16630005", (80, 200, 100)),
    (3, "Temporal lobe", "78277001", (240, 160, 40)),
    (4, "Occipital lobe", "31065004", (200, 70, 200)),
    (5, "Cerebellum", "113305005", (230, 220, 60)),
]
OTHER = 6  # grows like a lobe during filling, background afterwards

# AAL region name prefix -> lobe label (first match wins; suffix _L/_R ignored).
LOBE_OF_PREFIX = [
    ("Precentral", 1), ("Frontal_", 1), ("Rolandic_Oper", 1), ("Supp_Motor_Area", 1), ("Olfactory", 1),
    ("Rectus", 1), ("Paracentral_Lobule", 1),
    ("Postcentral", 2), ("Parietal_", 2), ("SupraMarginal", 2), ("Angular", 2), ("Precuneus", 2),
    ("Heschl", 3), ("Temporal_", 3), ("Fusiform", 3),
    ("Calcarine", 4), ("Cuneus", 4), ("Lingual", 4), ("Occipital_", 4),
    ("Cerebelum_", 5), ("Vermis_", 5),
    ("Insula", OTHER), ("Cingulum_", OTHER), ("Hippocampus", OTHER), ("ParaHippocampal", OTHER), ("Amygdala", OTHER),
    ("Caudate", OTHER), ("Putamen", OTHER), ("Pallidum", OTHER), ("Thalamus", OTHER),
]


def lobe_of(name: str) -> int:
    for prefix, lobe in LOBE_OF_PREFIX:
        if name.startswith(prefix):
            return lobe
    raise ValueError(f"AAL region {name} has no lobe")


def lobe_volume() -> np.ndarray:
    """The lobe label volume on the Colin27 grid (0 background, 1..5 lobes), restricted to ch2bet > 0."""
    aal = read_nifti(AAL_PATH)
    bet = read_nifti(BET_PATH)
    if not np.allclose(aal.affine, bet.affine) or aal.data.shape != bet.data.shape:
        raise ValueError("aal and ch2bet are not on the same grid")
    table = np.zeros(int(aal.data.max()) + 1, dtype=np.int64)
    with open(AAL_NAMES) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                table[int(parts[0])] = lobe_of(parts[1])
    brain = torch.from_numpy(bet.data > 0)
    labels = torch.from_numpy(table[np.rint(aal.data).astype(np.int64)]) * brain
    for _ in range(FILL_STEPS):  # nearest-region fill inside the brain, one voxel per step
        onehot = F.one_hot(labels, OTHER + 1).permute(3, 0, 1, 2).float()[None]
        onehot[:, 0] = 0
        grown = F.max_pool3d(onehot, 3, stride=1, padding=1)[0]
        reached = grown.amax(dim=0) > 0
        nearest = grown.argmax(dim=0)  # ties go to the lower label, deterministically
        labels = torch.where((labels == 0) & brain & reached, nearest, labels)
    labels[labels == OTHER] = 0
    return labels.numpy().astype(np.float32)


def cielab_dicom(rgb) -> list:
    """sRGB 0..255 -> CIELab (D65) scaled as DICOM stores it: L 0..100 and a, b -128..127 onto 0..65535."""
    c = np.array(rgb, dtype=float) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = (116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2]))
    return [int(round(lab[0] * 65535 / 100)), int(round((lab[1] + 128) * 65535 / 255)), int(round((lab[2] + 128) * 65535 / 255))]


def sample_batch(data: Colin27, lobes: VolumeSampler, rng, n: int):
    xs, ys = [], []
    for _ in range(n):
        x, pts = make_image_sample(data, rng)
        xs.append(x)
        labels = np.rint(lobes.sample(pts, mode="nearest")).astype(np.int64)
        ys.append(torch.from_numpy(nearest_back(labels, SIZE, SIZE)))
    return torch.stack(xs)[:, None], torch.stack(ys)


def loss_fn(logits, target):
    """Cross-entropy plus the mean soft Dice loss of the five lobes (batch-wise)."""
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, dim=1)[:, 1:]
    t = F.one_hot(target, len(LOBES) + 1).permute(0, 3, 1, 2)[:, 1:].float()
    inter = (p * t).sum(dim=(0, 2, 3))
    dice = (2 * inter + 1) / (p.sum(dim=(0, 2, 3)) + t.sum(dim=(0, 2, 3)) + 1)
    return ce + (1 - dice).mean()


def evaluate(model, data: Colin27, lobes: VolumeSampler):
    results = []
    for name, base, tilt, pixel, spacing in HELD_OUT:
        pred, pts, grid = predict_series_labels(model, data, base, tilt, pixel, spacing)
        truth = np.rint(lobes.sample(pts, mode="nearest")).astype(np.int64)
        per_lobe = {}
        for value, label, _, _ in LOBES:
            a, b = pred == value, truth == value
            per_lobe[label] = round(float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1)), 4)
        results.append({"series": name, "grid": [grid.columns, grid.rows, grid.slices], "dice": per_lobe,
                        "meanDice": round(float(np.mean(list(per_lobe.values()))), 4)})
        print(json.dumps(results[-1]), flush=True)
    return results


def model_dir() -> str:
    return os.environ.get("MODEL_DIR", os.path.join(REPO_MODELS, "optional", MODEL_ID))  # override for reruns


def write_truth(lobe_labels: np.ndarray) -> None:
    os.makedirs(model_dir(), exist_ok=True)
    write_uint8_like(os.path.join(model_dir(), TRUTH_FILE), np.rint(lobe_labels), BET_PATH)


def main():
    make_reproducible(SEED)
    torch.set_num_threads(2)
    t0 = time.time()
    data = Colin27()
    lobe_labels = lobe_volume()
    lobes = VolumeSampler(lobe_labels, read_nifti(BET_PATH).affine)
    print("lobe voxels (mL):", {label: int((lobe_labels == v).sum() // 1000) for v, label, _, _ in LOBES}, flush=True)
    rng = np.random.RandomState(SEED)
    model = BrainLobesUNet(classes=len(LOBES) + 1)
    init = {k: v for k, v in torch.load(INIT_WEIGHTS, map_location="cpu").items() if not k.startswith("head.")}
    missing = model.load_state_dict(init, strict=False).missing_keys
    assert all(k.startswith(("head.", "context.")) for k in missing), missing
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.1)
    for step in range(STEPS):
        model.train()
        x, y = sample_batch(data, lobes, rng, BATCH)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.4f} t={time.time() - t0:.0f}s", flush=True)
    train_seconds = time.time() - t0

    held_out = evaluate(model, data, lobes)

    out = model_dir()
    write_truth(lobe_labels)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out, "weights.pt"))
    digest = export_onnx(model, torch.zeros(1, 1, SIZE, SIZE), os.path.join(out, "model.onnx"), dynamic_batch=True)
    mean_per_lobe = {label: round(float(np.mean([r["dice"][label] for r in held_out])), 4) for _, label, _, _ in LOBES}
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"steps": STEPS, "batch": BATCH, "seed": SEED, "trainSeconds": round(train_seconds),
                   "heldOutBandDeg": HELD_OUT_BAND, "meanDicePerLobe": mean_per_lobe, "heldOutSeries": held_out},
                  f, indent=2)
        f.write("\n")
    write_manifest(out, manifest(digest))
    print(f"done in {time.time() - t0:.0f}s; sha256 {digest}")


def manifest(digest: str) -> dict:
    return {
        "id": MODEL_ID,
        "name": "Brain lobes 2D (demonstration)",
        "version": "1.0.0",
        "description": "Small 2D U-Net that labels the frontal, parietal, temporal and occipital lobes and the "
        "cerebellum on T1 MR slices of any plane. Trained on one subject (Colin27 with AAL regions grouped into lobes, "
        "MRIcron templates); a demonstration model, not for clinical use.",
        "task": "segmentation",
        "file": "model.onnx",
        "sha256": digest,
        "manufacturer": "clinical-ai",
        "select": {"modality": ["MR"], "minSlices": 16},
        "io": {"input": "image", "output": "logits", "layout": "slices", "outputKind": "logits"},
        "preprocessing": {"intensity": [{"op": "zscore", "nonzero": True}], "inputSize": [SIZE, SIZE]},
        "segmentationType": "BINARY",
        "segments": [
            {
                "labelValue": value,
                "label": label,
                "category": {"value": "91723000", "scheme": "SCT", "meaning": "Anatomical Structure"},
                "type": {"value": code, "scheme": "SCT", "meaning": label},
                "recommendedDisplayCIELabValue": cielab_dicom(rgb),
            }
            for value, label, code, rgb in LOBES
        ],
        "intendedUse": "Demonstration of the clinical-ai pipeline only. Not a medical device; not for clinical use.",
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--truth-only"]:  # rewrites only the truth volume (seconds)
        write_truth(lobe_volume())
    else:
        main()
