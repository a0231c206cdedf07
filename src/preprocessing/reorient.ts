/**
 * Reorientation by axis permutation and flips only (no interpolation): after it, voxel axes i, j, k point towards
 * the patient directions closest to a target code, "LPS" (DICOM: +x left, +y posterior, +z superior) or "RAS"
 * (NIfTI habit: right, anterior, superior). Oblique grids keep their obliqueness: each axis just gets the patient
 * direction it is closest to. Every voxel keeps its patient position.
 */
import { AppError } from '../domain/errors';
import type { Vec3 } from '../domain/study';
import { assertDataFits, voxelToPatient, type Grid3 } from './grid';

export type OrientationCode = 'RAS' | 'LPS';
type Labels = Uint8Array;
export type Axis = 0 | 1 | 2;
type Axes = [Axis, Axis, Axis];
export type VoxelArray = Float32Array | Uint8Array;

export interface AxisPlan {
  /** New axis n is source axis axes[n]. */
  axes: Axes;
  /** New axis n runs opposite to its source axis. */
  flips: [boolean, boolean, boolean];
}

export interface Reoriented<T extends VoxelArray> extends AxisPlan {
  data: T;
  grid: Grid3;
  /** Maps a label map on the reoriented grid back to the source grid (exact: the inverse permutation). */
  restoreLabels(labels: Labels): Labels;
}

const PERMUTATIONS: Axes[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** Sign each LPS patient axis must have along new voxel axis n. */
const TARGET_SIGNS: Record<OrientationCode, Vec3> = { LPS: [1, 1, 1], RAS: [-1, -1, 1] };

/** Which source axis becomes each new axis, and whether it flips, to face the target code. */
export function planOrientation(direction: Grid3['direction'], target: OrientationCode): AxisPlan {
  // Pick the assignment of voxel axes to patient axes with the largest total alignment; for oblique grids this is
  // better than a greedy per-axis choice, which can assign two voxel axes to the same patient axis.
  let best = PERMUTATIONS[0] as Axes;
  let bestScore = -1;
  for (const perm of PERMUTATIONS) {
    const score = Math.abs(direction[perm[0]][0]) + Math.abs(direction[perm[1]][1]) + Math.abs(direction[perm[2]][2]);
    if (score > bestScore + 1e-12) {
      best = perm;
      bestScore = score;
    }
  }
  const signs = TARGET_SIGNS[target];
  const flips = best.map((a, n) => Math.sign(direction[a][n as Axis]) !== signs[n as Axis]) as [boolean, boolean, boolean];
  return { axes: [...best], flips };
}

/** The reoriented grid alone (no data): what reorient() would produce, for planning a single resampling. */
export function reorientGrid(grid: Grid3, target: OrientationCode): AxisPlan & { grid: Grid3; identity: boolean } {
  const plan = planOrientation(grid.direction, target);
  const { axes, flips } = plan;
  if (grid.sliceOffsets && axes[2] !== 2) {
    throw new AppError('GEOMETRY', 'cannot reorient a grid with non-uniform slice spacing across axes; resample it first');
  }
  const identity = axes[0] === 0 && axes[1] === 1 && axes[2] === 2 && !flips[0] && !flips[1] && !flips[2];
  if (identity) return { ...plan, grid, identity };
  // The source voxel that becomes the new (0, 0, 0): the far end of every flipped axis.
  const corner: Vec3 = [0, 0, 0];
  axes.forEach((a, n) => (corner[a] = flips[n] ? grid.dims[a] - 1 : 0));
  const newGrid: Grid3 = {
    dims: [grid.dims[axes[0]], grid.dims[axes[1]], grid.dims[axes[2]]],
    spacing: [grid.spacing[axes[0]], grid.spacing[axes[1]], grid.spacing[axes[2]]],
    origin: voxelToPatient(grid, corner[0], corner[1], corner[2]),
    direction: axes.map((a, n) => {
      const d = grid.direction[a];
      // 0 - x rather than -x: no negative zeros in the result.
      return flips[n] ? [0 - d[0], 0 - d[1], 0 - d[2]] : [d[0], d[1], d[2]];
    }) as Grid3['direction'],
  };
  if (grid.sliceOffsets) {
    const off = grid.sliceOffsets;
    const lastOffset = off[off.length - 1] as number;
    newGrid.sliceOffsets = flips[2] ? off.map((_, k) => lastOffset - (off[off.length - 1 - k] as number)) : [...off];
  }
  return { ...plan, grid: newGrid, identity };
}

export function reorient<T extends VoxelArray>(data: T, grid: Grid3, target: OrientationCode): Reoriented<T> {
  assertDataFits(data, grid, 'reorient');
  const { axes, flips, grid: newGrid, identity } = reorientGrid(grid, target);
  if (identity) return { axes, flips, data, grid, restoreLabels: (labels) => labels };
  const inverseAxes: Axes = [0, 0, 0];
  axes.forEach((a, n) => (inverseAxes[a] = n as Axis));
  const inverseFlips: [boolean, boolean, boolean] = [flips[inverseAxes[0]], flips[inverseAxes[1]], flips[inverseAxes[2]]];
  return {
    axes,
    flips,
    data: permuteAxes(data, grid.dims, axes, flips),
    grid: newGrid,
    restoreLabels: (labels) => permuteAxes(labels, newGrid.dims, inverseAxes, inverseFlips),
  };
}

/** out[x0, x1, x2] = data at source index with axis axes[n] = x_n (or its mirror when flips[n]). */
export function permuteAxes<T extends VoxelArray>(
  data: T,
  dims: readonly [number, number, number],
  axes: readonly [Axis, Axis, Axis],
  flips: readonly [boolean, boolean, boolean],
): T {
  const strides = [1, dims[0], dims[0] * dims[1]] as const;
  const stepOf = (n: Axis): number => (flips[n] ? -1 : 1) * strides[axes[n]];
  const startOf = (n: Axis): number => (flips[n] ? (dims[axes[n]] - 1) * strides[axes[n]] : 0);
  const s0 = stepOf(0);
  const s1 = stepOf(1);
  const s2 = stepOf(2);
  const start = startOf(0) + startOf(1) + startOf(2);
  const n0 = dims[axes[0]];
  const n1 = dims[axes[1]];
  const n2 = dims[axes[2]];
  const out = allocLike(data, data.length);
  let q = 0;
  for (let x2 = 0; x2 < n2; x2++) {
    for (let x1 = 0; x1 < n1; x1++) {
      let p = start + x2 * s2 + x1 * s1;
      for (let x0 = 0; x0 < n0; x0++, p += s0) out[q++] = data[p] as number;
    }
  }
  return out;
}

/** A new zeroed array of the same element type (checked by element size: instanceof fails across realms). */
export function allocLike<T extends VoxelArray>(data: T, length: number): T {
  return (data.BYTES_PER_ELEMENT === 1 ? new Uint8Array(length) : new Float32Array(length)) as T;
}
