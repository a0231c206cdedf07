"""Shared pieces of the training scripts: reproducibility, geometry (NIfTI RAS -> DICOM LPS planes),
augmentation by one affine resampling, ONNX export with sha256, and manifest writing.

Slice conventions (they must match the DICOM series generator):
  DICOM patient axes are LPS: +x towards patient Left, +y Posterior, +z Superior.
  axial    IOP [1,0,0, 0,1,0]  columns run right->left,      rows run anterior->posterior
  sagittal IOP [0,1,0, 0,0,-1] columns run anterior->posterior, rows run superior->inferior
  coronal  IOP [1,0,0, 0,0,-1] columns run right->left,      rows run superior->inferior
"""
import hashlib
import json
import os
import random

import numpy as np
import torch
import torch.nn.functional as F

from nifti import read_nifti

TEMPLATES = "/usr/share/mricron/templates"
T1_PATH = os.path.join(TEMPLATES, "ch2.nii.gz")
BET_PATH = os.path.join(TEMPLATES, "ch2bet.nii.gz")
PLANES = ("axial", "sagittal", "coronal")
REPO_MODELS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def make_reproducible(seed: int) -> None:
    """Fixed seeds, deterministic kernels, one CPU thread (the build machine is shared)."""
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resample_to_lps(data: np.ndarray, affine: np.ndarray, spacing: float, order: str = "linear") -> np.ndarray:
    """Resamples a NIfTI volume onto an axis-aligned LPS grid with isotropic `spacing` mm.

    Returns V[x, y, z] with x towards patient Left, y Posterior, z Superior (DICOM LPS).
    Works for any sform/qform: each LPS grid point is mapped to RAS (negate x, y) and then to voxel indices.
    """
    shape = np.array(data.shape[:3])
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)])
    ras = (affine @ corners.T).T[:, :3]
    lps = ras * np.array([-1.0, -1.0, 1.0])
    lo, hi = lps.min(axis=0), lps.max(axis=0)
    n = np.floor((hi - lo) / spacing).astype(int) + 1
    axes = [lo[d] + spacing * np.arange(n[d]) for d in range(3)]
    gx, gy, gz = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([-gx, -gy, gz, np.ones_like(gx)], axis=-1).reshape(-1, 4)  # LPS -> RAS
    ijk = (np.linalg.inv(affine) @ pts.T).T[:, :3]
    # grid_sample wants (W, H, D) = (k, j, i) normalised to [-1, 1] with align_corners=True.
    norm = 2.0 * ijk / (shape - 1) - 1.0
    grid = torch.from_numpy(norm[:, ::-1].copy()).float().reshape(1, n[0], n[1], n[2], 3)
    vol = torch.from_numpy(np.ascontiguousarray(data)).float()[None, None]
    mode = "bilinear" if order == "linear" else "nearest"
    out = F.grid_sample(vol, grid, mode=mode, padding_mode="zeros", align_corners=True)
    return out[0, 0].numpy()


def plane_slice(v_lps: np.ndarray, plane: str, index: int) -> np.ndarray:
    """One slice as a DICOM image (rows, columns) of an LPS volume V[x, y, z], per the conventions above."""
    if plane == "axial":
        return v_lps[:, :, index].T  # rows = +y (A->P), columns = +x (R->L)
    if plane == "sagittal":
        return v_lps[index, :, ::-1].T  # rows = -z (S->I), columns = +y (A->P)
    if plane == "coronal":
        return v_lps[:, index, ::-1].T  # rows = -z (S->I), columns = +x (R->L)
    raise ValueError(plane)


def plane_count(v_lps: np.ndarray, plane: str) -> int:
    return v_lps.shape[{"axial": 2, "sagittal": 0, "coronal": 1}[plane]]


def zscore(a: np.ndarray) -> np.ndarray:
    std = float(a.std())
    return ((a - float(a.mean())) / (std if std > 1e-6 else 1.0)).astype(np.float32)


def load_colin27(spacing: float):
    """T1 and brain mask of Colin27 on an LPS grid; the T1 z-scored over the whole volume."""
    t1 = read_nifti(T1_PATH)
    bet = read_nifti(BET_PATH)
    if not np.allclose(t1.affine, bet.affine):
        raise ValueError("ch2 and ch2bet are not on the same grid")
    v = resample_to_lps(t1.data, t1.affine, spacing)
    m = resample_to_lps((bet.data > 0).astype(np.float32), bet.affine, spacing) > 0.5
    return zscore(v), m


def affine_theta(rot_deg=0.0, zoom=(1.0, 1.0), shift=(0.0, 0.0), flip=(False, False)) -> torch.Tensor:
    """2x3 theta for affine_grid (output -> input, normalised coords). Identity = plain bilinear resize."""
    a = np.deg2rad(rot_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    scale = np.diag([zoom[0] * (-1 if flip[0] else 1), zoom[1] * (-1 if flip[1] else 1)])
    theta = np.zeros((2, 3))
    theta[:, :2] = rot @ scale
    theta[:, 2] = shift
    return torch.tensor(theta, dtype=torch.float32)


def warp(img: np.ndarray, size: int, theta: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Resamples one 2D slice to size x size through theta. With the identity theta this equals
    F.interpolate(mode='bilinear', align_corners=False), the resize the service applies."""
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    grid = F.affine_grid(theta[None], [1, 1, size, size], align_corners=False)
    return F.grid_sample(t, grid, mode=mode, padding_mode="zeros", align_corners=False)[0, 0]


def resize(img: np.ndarray, size: int) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0, 0]


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: str, dynamic_batch: bool) -> str:
    model.eval()
    dynamic_axes = {"image": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    torch.onnx.export(
        model,
        example,
        path,
        input_names=["image"],
        output_names=["logits"],
        opset_version=13,
        dynamic_axes=dynamic_axes,
        do_constant_folding=True,
    )
    import onnx

    onnx.checker.check_model(onnx.load(path))
    return sha256_of(path)


def write_manifest(model_dir: str, manifest: dict) -> None:
    with open(os.path.join(model_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
