import { AppError } from '../domain/errors';
import type { Vec3 } from '../domain/study';
import type { Volume } from '../domain/volume';

/**
 * A voxel grid in patient space (DICOM LPS, mm). Voxel (i, j, k) lives at data[k * nj * ni + j * ni + i] and at
 * origin + i * spacing[0] * direction[0] + j * spacing[1] * direction[1] + offset(k) * direction[2],
 * where offset(k) = sliceOffsets[k] when given (uneven slice gaps), else k * spacing[2].
 */
export interface Grid3 {
  dims: [number, number, number];
  spacing: Vec3;
  /** Patient position of the centre of voxel (0, 0, 0). */
  origin: Vec3;
  /** Unit vectors of the i, j and k axes in LPS (the columns of the direction matrix). */
  direction: [Vec3, Vec3, Vec3];
  /** Non-uniform slices: position of each slice along direction[2], mm from slice 0 (increasing, [0] = 0). */
  sliceOffsets?: number[];
}

export function voxelCount(grid: Grid3): number {
  return grid.dims[0] * grid.dims[1] * grid.dims[2];
}

/** Distance of slice k (may be fractional) from slice 0 along direction[2], in mm. */
export function sliceOffset(grid: Grid3, k: number): number {
  const offsets = grid.sliceOffsets;
  if (!offsets) return k * grid.spacing[2];
  const n = offsets.length;
  if (n === 1) return 0;
  // Linear between neighbouring slices; linear extrapolation with the end gap outside.
  const k0 = Math.min(Math.max(Math.floor(k), 0), n - 2);
  const a = offsets[k0] as number;
  const b = offsets[k0 + 1] as number;
  return a + (k - k0) * (b - a);
}

/** Fractional slice index of a distance t (mm) along direction[2]: the inverse of sliceOffset. */
export function sliceIndexOfOffset(grid: Grid3, t: number): number {
  const offsets = grid.sliceOffsets;
  if (!offsets) return t / grid.spacing[2];
  const n = offsets.length;
  if (n === 1) return t / grid.spacing[2];
  // Binary search for the last offset ≤ t, clamped to a valid segment so ends extrapolate linearly.
  let lo = 0;
  let hi = n - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((offsets[mid] as number) <= t) lo = mid;
    else hi = mid - 1;
  }
  const a = offsets[lo] as number;
  const b = offsets[lo + 1] as number;
  return lo + (t - a) / (b - a);
}

export function voxelToPatient(grid: Grid3, i: number, j: number, k: number): Vec3 {
  const [u, v, w] = grid.direction;
  const a = i * grid.spacing[0];
  const b = j * grid.spacing[1];
  const c = sliceOffset(grid, k);
  return [
    grid.origin[0] + a * u[0] + b * v[0] + c * w[0],
    grid.origin[1] + a * u[1] + b * v[1] + c * w[1],
    grid.origin[2] + a * u[2] + b * v[2] + c * w[2],
  ];
}

/** Inverse of a 3×3 matrix given by its columns; returned as rows (r[0] · x gives the first coordinate). */
export function invertColumns(c0: Vec3, c1: Vec3, c2: Vec3): [Vec3, Vec3, Vec3] {
  // Rows of the inverse are the cross products of the columns divided by the determinant.
  const r0: Vec3 = [c1[1] * c2[2] - c1[2] * c2[1], c1[2] * c2[0] - c1[0] * c2[2], c1[0] * c2[1] - c1[1] * c2[0]];
  const r1: Vec3 = [c2[1] * c0[2] - c2[2] * c0[1], c2[2] * c0[0] - c2[0] * c0[2], c2[0] * c0[1] - c2[1] * c0[0]];
  const r2: Vec3 = [c0[1] * c1[2] - c0[2] * c1[1], c0[2] * c1[0] - c0[0] * c1[2], c0[0] * c1[1] - c0[1] * c1[0]];
  const det = c0[0] * r0[0] + c0[1] * r0[1] + c0[2] * r0[2];
  if (!(Math.abs(det) > 1e-12)) throw new AppError('GEOMETRY', 'grid direction vectors are degenerate (not a basis)');
  const s = 1 / det;
  return [
    [r0[0] * s, r0[1] * s, r0[2] * s],
    [r1[0] * s, r1[1] * s, r1[2] * s],
    [r2[0] * s, r2[1] * s, r2[2] * s],
  ];
}

/**
 * Maps a patient position to continuous voxel coordinates of the grid without the slice-offset lookup:
 * returns [i, j, t] with t the distance in mm along direction[2] from slice 0. Rows of the returned affine
 * (patient → [i, j, t]) let callers evaluate it incrementally.
 */
export function patientToGridAffine(grid: Grid3): { rows: [Vec3, Vec3, Vec3]; origin: Vec3 } {
  const [u, v, w] = grid.direction;
  const inv = invertColumns(u, v, w);
  const sI = 1 / grid.spacing[0];
  const sJ = 1 / grid.spacing[1];
  const r0 = inv[0];
  const r1 = inv[1];
  return {
    rows: [[r0[0] * sI, r0[1] * sI, r0[2] * sI], [r1[0] * sJ, r1[1] * sJ, r1[2] * sJ], inv[2]],
    origin: grid.origin,
  };
}

export function patientToVoxel(grid: Grid3, p: Vec3): Vec3 {
  const { rows, origin } = patientToGridAffine(grid);
  const d: Vec3 = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
  const dot = (r: Vec3): number => r[0] * d[0] + r[1] * d[1] + r[2] * d[2];
  return [dot(rows[0]), dot(rows[1]), sliceIndexOfOffset(grid, dot(rows[2]))];
}

/** Relative deviation from uniform slice spacing above which a grid keeps explicit slice offsets. */
const UNIFORM_TOLERANCE = 0.01;

/**
 * The grid of a volume. When every slice source carries its ImagePositionPatient and the slice positions along the
 * normal are not uniform (beyond 1 % of the spacing), the grid keeps them as sliceOffsets.
 */
export function gridOfVolume(volume: Volume): Grid3 {
  const o = volume.orientation;
  const grid: Grid3 = {
    dims: [volume.columns, volume.rows, volume.slices],
    spacing: [...volume.spacing],
    origin: [...volume.origin],
    direction: [[o[0], o[1], o[2]], [o[3], o[4], o[5]], [...volume.normal]],
  };
  const offsets = sliceOffsetsOfSources(volume);
  if (offsets) {
    const step = volume.spacing[2];
    const uneven = offsets.some((t, k) => Math.abs(t - k * step) > UNIFORM_TOLERANCE * step);
    if (uneven) grid.sliceOffsets = offsets;
  }
  return grid;
}

function sliceOffsetsOfSources(volume: Volume): number[] | undefined {
  if (volume.slices < 2 || volume.sources.length !== volume.slices) return undefined;
  const first = volume.sources[0]?.imagePositionPatient;
  if (!first) return undefined;
  const n = volume.normal;
  return volume.sources.map((s) => {
    const p = s.imagePositionPatient;
    return (p[0] - first[0]) * n[0] + (p[1] - first[1]) * n[1] + (p[2] - first[2]) * n[2];
  });
}

/** Throws unless the two grids have the same number of voxels as the data they describe. */
export function assertDataFits(data: ArrayLike<number>, grid: Grid3, what: string): void {
  const n = voxelCount(grid);
  if (data.length !== n) {
    throw new AppError('INTERNAL', `${what}: ${data.length} values for a ${grid.dims.join('×')} grid (${n} voxels)`);
  }
}
