"""Trains models/brain-mask-2d: a small 2D U-Net that segments the brain on MR slices of any orientation.

Data: Colin27 T1 (ch2.nii.gz) and its brain-extracted twin (ch2bet.nii.gz, mask = ch2bet > 0) from Debian's
mricron-data (MRIcron templates, BSD-3, Chris Rorden). One subject: the augmentation is what makes the model work
on other acquisition geometries.

Each training sample is one slice of a simulated DICOM series, cut from the 1 mm volume the way src/synth/series.ts
cuts series (trilinear, LPS grid covering the volume):
  - base plane axial / sagittal / coronal, tilted by rotations about x, y, z of up to +-30 deg each (25 % untilted),
    rows or columns flipped sometimes;
  - pixel spacing 0.9-3.2 mm, anisotropic in half the samples; field of view 0.8-1.3 x the covering grid, shifted;
    slice position anywhere along the normal (so empty slices above and below the head are seen); sometimes a thick
    slice (mean of three planes 0.5-1.5 mm apart);
  - intensity: gamma 0.74-1.35, linear bias field, then the service's preprocessing (z-score over non-zero voxels of
    the series, zeros stay zero; statistics from a fixed voxel sample under the same gamma), then scale 0.9-1.1,
    offset +-0.1, Gaussian noise sigma <= 0.08 (half the samples);
  - the slice is resized to 128 x 128 (bilinear, half-pixel centres), as the service does.
Held out from training: every tilt with two of its three angles within 15-25 deg (e.g. 20 deg about x and 20 deg
about y). Evaluation runs whole held-out series through an emulation of the service's 2D path (z-score over the
series' non-zero voxels, resize, argmax, nearest resize back) and measures Dice against ch2bet > 0 sampled (nearest)
on the same grid.

Run: nice -n 10 /usr/bin/python3 models/training/train_brain_mask.py   (CPU, one thread, about 15-20 min)
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BET_PATH, REPO_MODELS, T1_PATH, export_onnx, make_reproducible, write_manifest  # noqa: E402
from nets import BrainMaskUNet  # noqa: E402
from nifti import read_nifti  # noqa: E402
from oblique_slices import BASE_PLANES, VolumeSampler, plan_grid, rotation_matrix  # noqa: E402

MODEL_ID = "brain-mask-2d"
SIZE = 128
SEED = 20241123
STEPS = int(os.environ.get("STEPS", "1100"))
BATCH = 16
MAX_TILT = 30.0
HELD_OUT_BAND = (15.0, 25.0)  # no training tilt has two of its angles in this band

# Held-out series (name, base plane, tilt (x, y, z) deg, pixel spacing mm, slice spacing mm).
HELD_OUT = [
    ("axial tilted 20/20 (x/y), 2 mm", "axial", (20, 20, 0), 2.0, 2.0),
    ("sagittal tilted 20/-20 (x/z), 2 mm", "sagittal", (20, 0, -20), 2.0, 2.0),
    ("coronal tilted -20/20 (y/z), 1.5 mm px, 3 mm slices", "coronal", (0, -20, 20), 1.5, 3.0),
    ("axial 1 mm px, 3 mm slices", "axial", (0, 0, 0), 1.0, 3.0),
    ("sagittal 3 mm", "sagittal", (0, 0, 0), 3.0, 3.0),
    ("coronal 2 mm", "coronal", (0, 0, 0), 2.0, 2.0),
]


def in_held_out_band(angles) -> bool:
    lo, hi = HELD_OUT_BAND
    return sum(1 for a in angles if lo <= abs(a) <= hi) >= 2


class Colin27:
    def __init__(self):
        t1 = read_nifti(T1_PATH)
        bet = read_nifti(BET_PATH)
        if not np.allclose(t1.affine, bet.affine):
            raise ValueError("ch2 and ch2bet are not on the same grid")
        self.t1 = VolumeSampler(t1.data, t1.affine)
        self.mask = VolumeSampler((bet.data > 0).astype(np.float32), bet.affine)
        self.max = float(t1.data.max())
        nz = t1.data[t1.data > 0]
        # A fixed sample of non-zero voxels stands in for the series' non-zero voxels when computing z-score statistics.
        self.nonzero_sample = np.random.RandomState(7).choice(nz, 200_000, replace=False).astype(np.float64)

    def gamma(self, values: np.ndarray, g: float) -> np.ndarray:
        return self.max * np.power(np.clip(values, 0, None) / self.max, g)


def zscore_nonzero(raw: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The service's {"op": "zscore", "nonzero": true}: statistics of non-zero voxels, zeros stay zero."""
    return np.where(raw != 0, (raw - mean) / std, 0.0).astype(np.float32)


def resize(img: np.ndarray, size: int, mode: str = "bilinear") -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode=mode, align_corners=False)[0, 0]


def random_tilt(rng) -> tuple:
    if rng.rand() < 0.25:
        return (0.0, 0.0, 0.0)
    while True:
        angles = tuple(rng.uniform(-MAX_TILT, MAX_TILT, 3))
        if not in_held_out_band(angles):
            return angles


def make_image_sample(data: Colin27, rng):
    """One augmented, preprocessed 128 x 128 slice and the LPS points [rows, columns, 3] it was cut at (labels for
    the same slice are sampled at those points by the caller, then resized to SIZE)."""
    base = ("axial", "sagittal", "coronal")[rng.choice(3, p=[0.4, 0.3, 0.3])]
    rot = rotation_matrix(*random_tilt(rng))
    row, col = (rot @ np.array(v) for v in BASE_PLANES[base])
    if rng.rand() < 0.2:
        row = -row
    if rng.rand() < 0.1:
        col = -col
    pixel_col = rng.uniform(0.9, 3.2)
    pixel_row = pixel_col if rng.rand() < 0.5 else rng.uniform(0.9, 3.2)
    grid = plan_grid(data.t1.corners_lps, row, col, pixel_row, pixel_col, 1.0,
                     fov_scale=(rng.uniform(0.8, 1.3), rng.uniform(0.8, 1.3)), shift=tuple(rng.uniform(-15, 15, 2)))
    k = rng.uniform(0, grid.slices - 1)
    pts = grid.slice_points(k)
    raw = data.t1.sample(pts)
    if rng.rand() < 0.3:  # thick slice: partial volume across the normal
        d = rng.uniform(0.5, 1.5)
        raw = (raw + data.t1.sample(pts + d * grid.normal) + data.t1.sample(pts - d * grid.normal)) / 3
    g = float(np.exp(rng.uniform(-0.3, 0.3)))
    raw = data.gamma(raw, g)
    stats = data.gamma(data.nonzero_sample, g)
    if rng.rand() < 0.5:  # smooth multiplicative bias field across the slice
        v, u = np.meshgrid(np.linspace(-1, 1, raw.shape[0]), np.linspace(-1, 1, raw.shape[1]), indexing="ij")
        b = rng.uniform(-0.25, 0.25, 3)
        raw = raw * np.exp(b[0] * u + b[1] * v + b[2] * u * v)
    x = resize(zscore_nonzero(raw, stats.mean(), stats.std()), SIZE)
    x = x * float(rng.uniform(0.9, 1.1)) + float(rng.uniform(-0.1, 0.1))
    if rng.rand() < 0.5:
        x = x + float(rng.uniform(0.0, 0.08)) * torch.from_numpy(rng.randn(SIZE, SIZE).astype(np.float32))
    return x, pts


def make_sample(data: Colin27, rng):
    x, pts = make_image_sample(data, rng)
    return x, (resize(data.mask.sample(pts), SIZE) > 0.5).long()


def sample_batch(data, rng, n):
    pairs = [make_sample(data, rng) for _ in range(n)]
    return torch.stack([p[0] for p in pairs])[:, None], torch.stack([p[1] for p in pairs])


def loss_fn(logits, target):
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, dim=1)[:, 1]
    t = target.float()
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return ce + dice


def nearest_back(labels: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """resizeNearest2d of src/inference/tensor-ops.ts."""
    h, w = labels.shape
    yy = np.minimum(np.floor((np.arange(rows) + 0.5) * h / rows).astype(int), h - 1)
    xx = np.minimum(np.floor((np.arange(cols) + 0.5) * w / cols).astype(int), w - 1)
    return labels[yy][:, xx]


def predict_series_labels(model, data: Colin27, base, tilt, pixel, spacing):
    """Emulates the service's 2D path on a whole series of the given geometry; returns (label map [slices, rows,
    columns], the LPS points of its voxels, grid)."""
    rot = rotation_matrix(*tilt)
    row, col = (rot @ np.array(v) for v in BASE_PLANES[base])
    grid = plan_grid(data.t1.corners_lps, row, col, pixel, pixel, spacing)
    pts = np.stack([grid.slice_points(k) for k in range(grid.slices)])
    raw = np.round(data.t1.sample(pts))  # makeSeries stores integers
    nz = raw[raw != 0]
    vol = zscore_nonzero(raw, nz.mean(), nz.std())
    pred = np.zeros(raw.shape, dtype=np.int64)
    model.eval()
    with torch.no_grad():
        for start in range(0, grid.slices, 32):
            chunk = vol[start:start + 32]
            x = F.interpolate(torch.from_numpy(chunk)[:, None], size=(SIZE, SIZE), mode="bilinear", align_corners=False)
            labels = model(x).argmax(dim=1).numpy()
            for b, lab in enumerate(labels):
                pred[start + b] = nearest_back(lab, grid.rows, grid.columns)
    return pred, pts, grid


def predict_series(model, data: Colin27, base, tilt, pixel, spacing):
    """Brain mask prediction and truth (ch2bet > 0, nearest) on a whole series; returns (prediction, truth, grid)."""
    labels, pts, grid = predict_series_labels(model, data, base, tilt, pixel, spacing)
    return labels == 1, data.mask.sample(pts, mode="nearest") > 0.5, grid


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def evaluate(model, data: Colin27):
    results = []
    for name, base, tilt, pixel, spacing in HELD_OUT:
        pred, truth, grid = predict_series(model, data, base, tilt, pixel, spacing)
        voxel_ml = pixel * pixel * spacing / 1000
        results.append({
            "series": name,
            "grid": [grid.columns, grid.rows, grid.slices],
            "dice": round(dice(pred, truth), 4),
            "predictedMl": round(float(pred.sum()) * voxel_ml, 1),
            "truthMl": round(float(truth.sum()) * voxel_ml, 1),
        })
        print(json.dumps(results[-1]), flush=True)
    return results


def main():
    make_reproducible(SEED)
    t0 = time.time()
    data = Colin27()
    rng = np.random.RandomState(SEED)
    model = BrainMaskUNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.15)
    for step in range(STEPS):
        model.train()
        x, y = sample_batch(data, rng, BATCH)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.4f} t={time.time() - t0:.0f}s", flush=True)
    train_seconds = time.time() - t0

    held_out = evaluate(model, data)

    model_dir = os.environ.get("MODEL_DIR", os.path.join(REPO_MODELS, MODEL_ID))  # override for reproducibility checks
    os.makedirs(model_dir, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(model_dir, "weights.pt"))
    digest = export_onnx(model, torch.zeros(1, 1, SIZE, SIZE), os.path.join(model_dir, "model.onnx"), dynamic_batch=True)
    with open(os.path.join(model_dir, "metrics.json"), "w") as f:
        json.dump({"steps": STEPS, "batch": BATCH, "seed": SEED, "trainSeconds": round(train_seconds),
                   "heldOutBandDeg": HELD_OUT_BAND, "heldOutSeries": held_out}, f, indent=2)
        f.write("\n")
    write_manifest(model_dir, manifest(digest))
    print(f"done in {time.time() - t0:.0f}s; sha256 {digest}")


def manifest(digest: str) -> dict:
    return {
        "id": MODEL_ID,
        "name": "Brain mask 2D (demonstration)",
        "version": "2.0.0",
        "description": "Small 2D U-Net that segments the brain on T1 MR slices of any plane, oblique included. Trained "
        "on one subject (Colin27, MRIcron templates) with geometric and intensity augmentation; a demonstration "
        "model, not for clinical use.",
        "task": "segmentation",
        "file": "model.onnx",
        "sha256": digest,
        "manufacturer": "clinical-ai",
        "select": {"modality": ["MR"], "minSlices": 16},
        "io": {"input": "image", "output": "logits", "layout": "slices", "outputKind": "logits"},
        "preprocessing": {"intensity": [{"op": "zscore", "nonzero": True}], "inputSize": [SIZE, SIZE]},
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
