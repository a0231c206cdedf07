"""Slices and whole series of a NIfTI volume on arbitrary DICOM grids (oblique, anisotropic), the way the series
generator in src/synth/series.ts builds them, so training and evaluation see what the service sees.

Geometry (DICOM LPS, mm): a base plane gives the row direction (along which columns advance) and the column
direction (along which rows advance); `rotation_matrix(ax, ay, az)` tilts both (about x first, then y, then z, the
order of makeSeries' rotationDegrees). The grid covers the volume's corners projected on those directions and is
centred on them, as planSeriesGeometry does.
"""
import numpy as np
import torch
import torch.nn.functional as F

BASE_PLANES = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
}


def rotation_matrix(ax: float, ay: float, az: float) -> np.ndarray:
    """Rz(az) @ Ry(ay) @ Rx(ax), degrees, right-handed (a vector is rotated about x first)."""
    a, b, c = np.deg2rad([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


class VolumeSampler:
    """Trilinear / nearest sampling of a NIfTI volume (RAS affine) at LPS points, with torch.grid_sample."""

    def __init__(self, data: np.ndarray, affine: np.ndarray):
        self.shape = np.array(data.shape[:3])
        self.affine = affine
        self.inv = np.linalg.inv(affine)
        # grid_sample indexes (W, H, D) = (i, j, k) of a tensor laid out [k, j, i].
        self.tensor = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 1, 0))).float()[None, None]
        corners = np.array([[i, j, k, 1.0] for i in (0, self.shape[0] - 1) for j in (0, self.shape[1] - 1) for k in (0, self.shape[2] - 1)])
        ras = (affine @ corners.T).T[:, :3]
        self.corners_lps = ras * np.array([-1.0, -1.0, 1.0])

    def sample(self, lps: np.ndarray, mode: str = "bilinear") -> np.ndarray:
        """Values at LPS points of shape [..., 3]; 0 outside the volume."""
        shape = lps.shape[:-1]
        pts = lps.reshape(-1, 3)
        ras1 = np.concatenate([pts * np.array([-1.0, -1.0, 1.0]), np.ones((len(pts), 1))], axis=1)
        ijk = (self.inv @ ras1.T).T[:, :3]
        norm = 2.0 * ijk / (self.shape - 1) - 1.0
        grid = torch.from_numpy(norm).float().reshape(1, 1, 1, -1, 3)
        out = F.grid_sample(self.tensor, grid, mode=mode, padding_mode="zeros", align_corners=True)
        return out.reshape(shape).numpy()


class SeriesGrid:
    """A DICOM series grid: pixel (i column, j row) of slice k sits at origin + i*pc*row + j*pr*col + k*s*normal."""

    def __init__(self, row, col, pixel_row: float, pixel_col: float, spacing: float, columns: int, rows: int, slices: int, origin):
        self.row, self.col = np.asarray(row, float), np.asarray(col, float)
        self.normal = np.cross(self.row, self.col)
        self.pixel_row, self.pixel_col, self.spacing = pixel_row, pixel_col, spacing
        self.columns, self.rows, self.slices = columns, rows, slices
        self.origin = np.asarray(origin, float)

    def slice_points(self, k: float) -> np.ndarray:
        """LPS points [rows, columns, 3] of slice k (k may be fractional)."""
        i = np.arange(self.columns) * self.pixel_col
        j = np.arange(self.rows) * self.pixel_row
        return (self.origin + k * self.spacing * self.normal)[None, None] + j[:, None, None] * self.col + i[None, :, None] * self.row


def plan_grid(corners_lps: np.ndarray, row, col, pixel_row: float, pixel_col: float, spacing: float,
              fov_scale=(1.0, 1.0), shift=(0.0, 0.0)) -> SeriesGrid:
    """planSeriesGeometry of src/synth/series.ts (fov_scale = 1, shift = 0 reproduce it exactly)."""
    row, col = np.asarray(row, float), np.asarray(col, float)
    normal = np.cross(row, col)

    def span(axis):
        d = corners_lps @ axis
        return d.min(), d.max()

    def count(s, step, scale=1.0):
        return int(np.floor(scale * (s[1] - s[0]) / step + 1e-6)) + 1

    sr, sc, sn = span(row), span(col), span(normal)
    columns = count(sr, pixel_col, fov_scale[0])
    rows = count(sc, pixel_row, fov_scale[1])
    slices = count(sn, spacing)

    def start(s, n, step, offset=0.0):
        return (s[0] + s[1]) / 2 + offset - (n - 1) * step / 2

    a = start(sr, columns, pixel_col, shift[0])
    b = start(sc, rows, pixel_row, shift[1])
    c = start(sn, slices, spacing)
    origin = a * row + b * col + c * normal
    return SeriesGrid(row, col, pixel_row, pixel_col, spacing, columns, rows, slices, origin)
