/**
 * Centred crop or pad to fixed dims, with the grid origin moved so every kept voxel keeps its patient position.
 * Per axis, a crop drops floor((n - target) / 2) voxels at the start (the extra one of an odd difference at the
 * end); a pad adds floor((target - n) / 2) before (the extra one after), as nnU-Net pads.
 * MONAI's CenterSpatialCrop can start one voxel later for odd differences; models trained with it may need a note.
 */
import { AppError } from '../domain/errors';
import type { Vec3 } from '../domain/study';
import { assertDataFits, voxelToPatient, type Grid3 } from './grid';
import { allocLike, type VoxelArray } from './reorient';

export interface CropPadResult<T extends VoxelArray> {
  data: T;
  grid: Grid3;
  /** Source voxel index = new voxel index + shift, per axis [i, j, k] (negative = padding before). */
  shift: [number, number, number];
  /** Labels on the new grid back to the source dims (cropped-away voxels become 0, padding is dropped). */
  restoreLabels(labels: Uint8Array): Uint8Array;
}

/** targetDims are in grid order [i, j, k] (the manifest's cropOrPadTo is [k, j, i]). */
export function cropOrPad<T extends VoxelArray>(data: T, grid: Grid3, targetDims: [number, number, number], padValue = 0): CropPadResult<T> {
  assertDataFits(data, grid, 'crop/pad');
  if (grid.sliceOffsets) throw new AppError('GEOMETRY', 'crop/pad needs uniform slice spacing; resample it first');
  if (!targetDims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new AppError('CONFIG_INVALID', `crop/pad size must be positive integers, got ${targetDims.join('×')}`);
  }
  const dims = grid.dims;
  // trunc, not floor: a crop starts floor(d / 2) in, a pad puts floor(-d / 2) before (d = n - target).
  const shift = [0, 1, 2].map((a) => Math.trunc((dims[a as 0 | 1 | 2] - targetDims[a as 0 | 1 | 2]) / 2)) as [number, number, number];
  const newGrid: Grid3 = {
    dims: [...targetDims],
    spacing: [...grid.spacing],
    origin: voxelToPatient(grid, shift[0], shift[1], shift[2]) as Vec3,
    direction: grid.direction,
  };
  const out = copyBox(data, dims, targetDims, shift, padValue);
  const back: [number, number, number] = [-shift[0], -shift[1], -shift[2]];
  return { data: out, grid: newGrid, shift, restoreLabels: (labels) => copyBox(labels, targetDims, dims, back, 0) };
}

/** out[x] = src[x + shift] where inside src, else fill; whole rows are copied with TypedArray.set. */
export function copyBox<T extends VoxelArray>(
  src: T,
  srcDims: readonly [number, number, number],
  outDims: readonly [number, number, number],
  shift: readonly [number, number, number],
  fill: number,
): T {
  const [n0, n1, n2] = srcDims;
  const [t0, t1, t2] = outDims;
  const out = allocLike(src, t0 * t1 * t2);
  if (fill !== 0) out.fill(fill);
  // The run of output i whose source i is inside: [iStart, iEnd).
  const iStart = Math.max(0, -shift[0]);
  const iEnd = Math.min(t0, n0 - shift[0]);
  if (iEnd <= iStart) return out;
  for (let k = 0; k < t2; k++) {
    const sk = k + shift[2];
    if (sk < 0 || sk >= n2) continue;
    for (let j = 0; j < t1; j++) {
      const sj = j + shift[1];
      if (sj < 0 || sj >= n1) continue;
      const from = sk * n0 * n1 + sj * n0 + iStart + shift[0];
      out.set(src.subarray(from, from + iEnd - iStart), k * t0 * t1 + j * t0 + iStart);
    }
  }
  return out;
}
