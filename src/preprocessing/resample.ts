/**
 * Resampling between grids in patient space: every target voxel centre is mapped into the source grid and the
 * source is interpolated there (trilinear for images, nearest for labels).
 *
 * Bounds: a target point is inside the source when each continuous source index lies in [-0.5, n - 0.5], i.e. within
 * the source voxels' extent; there the index is clamped to [0, n - 1] (edge voxels extend half a voxel, like
 * align_corners=False interpolation). Points farther out get `outside` (default 0).
 * A source grid with sliceOffsets (uneven slice gaps) is interpolated linearly in mm between neighbouring slices.
 */
import { AppError } from '../domain/errors';
import type { Vec3 } from '../domain/study';
import { assertDataFits, patientToGridAffine, sliceIndexOfOffset, sliceOffset, type Grid3 } from './grid';
import { allocLike, type VoxelArray } from './reorient';

export interface ResampleOptions {
  /** Value for target voxels outside the source grid (default 0). */
  outside?: number;
}

/**
 * Per-target-voxel mapping into source index space: c = base + i * di + j * dj + offset(k) * dk gives [x, y, t]
 * with t either already the source slice index (uniform source) or mm along the source's k axis.
 */
interface Mapping {
  base: Vec3;
  di: Vec3;
  dj: Vec3;
  dk: Vec3;
  /** Target slice k → its offset in mm (or index units when the target is uniform, folded into dk). */
  targetOffsets: Float64Array;
  sliceIndex: ((t: number) => number) | undefined;
}

function mapping(source: Grid3, target: Grid3): Mapping {
  const { rows } = patientToGridAffine(source);
  const uniform = !source.sliceOffsets;
  // For a uniform source, fold 1/spacing into the k row so the inner loop needs no lookup.
  const r2: Vec3 = uniform ? [rows[2][0] / source.spacing[2], rows[2][1] / source.spacing[2], rows[2][2] / source.spacing[2]] : rows[2];
  const R = [rows[0], rows[1], r2] as const;
  const apply = (x: Vec3): Vec3 => [0, 1, 2].map((r) => (R[r] as Vec3)[0] * x[0] + (R[r] as Vec3)[1] * x[1] + (R[r] as Vec3)[2] * x[2]) as Vec3;
  const [u, v, w] = target.direction;
  const si = target.spacing[0];
  const sj = target.spacing[1];
  const targetOffsets = new Float64Array(target.dims[2]);
  for (let k = 0; k < target.dims[2]; k++) targetOffsets[k] = sliceOffset(target, k);
  return {
    base: apply([target.origin[0] - source.origin[0], target.origin[1] - source.origin[1], target.origin[2] - source.origin[2]]),
    di: apply([u[0] * si, u[1] * si, u[2] * si]),
    dj: apply([v[0] * sj, v[1] * sj, v[2] * sj]),
    dk: apply(w),
    targetOffsets,
    sliceIndex: uniform ? undefined : (t: number) => sliceIndexOfOffset(source, t),
  };
}

/** Trilinear resampling of an image onto the target grid. */
export function resampleLinear(data: Float32Array, source: Grid3, target: Grid3, options: ResampleOptions = {}): Float32Array {
  assertDataFits(data, source, 'resample');
  const outside = options.outside ?? 0;
  const [n0, n1, n2] = source.dims;
  const [t0, t1, t2] = target.dims;
  const out = new Float32Array(t0 * t1 * t2);
  const m = mapping(source, target);
  const plane = n0 * n1;
  // Neighbour steps are 0 along axes of size 1 so those axes need no special case.
  const sx = n0 > 1 ? 1 : 0;
  const sy = n1 > 1 ? n0 : 0;
  const sz = n2 > 1 ? plane : 0;
  const maxX0 = Math.max(n0 - 2, 0);
  const maxY0 = Math.max(n1 - 2, 0);
  const maxZ0 = Math.max(n2 - 2, 0);
  const hiX = n0 - 0.5;
  const hiY = n1 - 0.5;
  const hiZ = n2 - 0.5;
  const sliceIndex = m.sliceIndex;
  let q = 0;
  for (let k = 0; k < t2; k++) {
    const off = m.targetOffsets[k] as number;
    for (let j = 0; j < t1; j++) {
      const bx = m.base[0] + j * m.dj[0] + off * m.dk[0];
      const by = m.base[1] + j * m.dj[1] + off * m.dk[1];
      const bz = m.base[2] + j * m.dj[2] + off * m.dk[2];
      for (let i = 0; i < t0; i++, q++) {
        const x = bx + i * m.di[0];
        const y = by + i * m.di[1];
        let z = bz + i * m.di[2];
        if (sliceIndex) z = sliceIndex(z);
        if (x < -0.5 || x > hiX || y < -0.5 || y > hiY || z < -0.5 || z > hiZ) {
          out[q] = outside;
          continue;
        }
        const cx = x < 0 ? 0 : x > n0 - 1 ? n0 - 1 : x;
        const cy = y < 0 ? 0 : y > n1 - 1 ? n1 - 1 : y;
        const cz = z < 0 ? 0 : z > n2 - 1 ? n2 - 1 : z;
        let x0 = Math.floor(cx);
        let y0 = Math.floor(cy);
        let z0 = Math.floor(cz);
        if (x0 > maxX0) x0 = maxX0;
        if (y0 > maxY0) y0 = maxY0;
        if (z0 > maxZ0) z0 = maxZ0;
        const fx = cx - x0;
        const fy = cy - y0;
        const fz = cz - z0;
        const p = z0 * plane + y0 * n0 + x0;
        const c00 = (data[p] as number) + fx * ((data[p + sx] as number) - (data[p] as number));
        const c10 = (data[p + sy] as number) + fx * ((data[p + sy + sx] as number) - (data[p + sy] as number));
        const c01 = (data[p + sz] as number) + fx * ((data[p + sz + sx] as number) - (data[p + sz] as number));
        const c11 = (data[p + sz + sy] as number) + fx * ((data[p + sz + sy + sx] as number) - (data[p + sz + sy] as number));
        const c0 = c00 + fy * (c10 - c00);
        const c1 = c01 + fy * (c11 - c01);
        out[q] = c0 + fz * (c1 - c0);
      }
    }
  }
  return out;
}

/** Nearest-neighbour resampling (labels, or any voxel array) onto the target grid. Ties round up. */
export function resampleNearest<T extends VoxelArray>(data: T, source: Grid3, target: Grid3, options: ResampleOptions = {}): T {
  assertDataFits(data, source, 'resample');
  const outside = options.outside ?? 0;
  const [n0, n1, n2] = source.dims;
  const [t0, t1, t2] = target.dims;
  const out = allocLike(data, t0 * t1 * t2);
  const m = mapping(source, target);
  const plane = n0 * n1;
  const hiX = n0 - 0.5;
  const hiY = n1 - 0.5;
  const hiZ = n2 - 0.5;
  const sliceIndex = m.sliceIndex;
  let q = 0;
  for (let k = 0; k < t2; k++) {
    const off = m.targetOffsets[k] as number;
    for (let j = 0; j < t1; j++) {
      const bx = m.base[0] + j * m.dj[0] + off * m.dk[0];
      const by = m.base[1] + j * m.dj[1] + off * m.dk[1];
      const bz = m.base[2] + j * m.dj[2] + off * m.dk[2];
      for (let i = 0; i < t0; i++, q++) {
        const x = bx + i * m.di[0];
        const y = by + i * m.di[1];
        let z = bz + i * m.di[2];
        if (sliceIndex) z = sliceIndex(z);
        if (x < -0.5 || x > hiX || y < -0.5 || y > hiY || z < -0.5 || z > hiZ) {
          out[q] = outside;
          continue;
        }
        // Math.round maps [-0.5, 0.5) to (-)0, so only the upper end needs clamping.
        let xi = Math.round(x);
        let yi = Math.round(y);
        let zi = Math.round(z);
        if (xi >= n0) xi = n0 - 1;
        if (yi >= n1) yi = n1 - 1;
        if (zi >= n2) zi = n2 - 1;
        out[q] = data[zi * plane + yi * n0 + xi] as number;
      }
    }
  }
  return out;
}

/** Model-grid labels back onto the source grid (nearest; 0 outside the model grid). */
export function labelsBackToGrid(labels: Uint8Array, modelGrid: Grid3, sourceGrid: Grid3): Uint8Array {
  return resampleNearest(labels, modelGrid, sourceGrid, { outside: 0 });
}

/** Extent of the grid along each axis in mm (voxel edge to edge); uneven slices count their mean gap. */
export function gridExtent(grid: Grid3): Vec3 {
  const [n0, n1, n2] = grid.dims;
  const off = grid.sliceOffsets;
  const extentK = off && n2 > 1 ? ((off[n2 - 1] as number) * n2) / (n2 - 1) : n2 * grid.spacing[2];
  return [n0 * grid.spacing[0], n1 * grid.spacing[1], extentK];
}

/** Same origin and direction, the given spacing, extent preserved: dims = max(1, round(extent / spacing)). */
export function gridWithSpacing(grid: Grid3, spacing: Vec3): Grid3 {
  if (!spacing.every((s) => s > 0)) throw new AppError('CONFIG_INVALID', `target spacing must be positive, got ${spacing.join(', ')}`);
  const extent = gridExtent(grid);
  const dims = extent.map((e, a) => Math.max(1, Math.round(e / (spacing[a] as number)))) as [number, number, number];
  return { dims, spacing: [...spacing], origin: [...grid.origin], direction: grid.direction };
}

/** A uniform grid over the same slices: slice spacing = mean gap, same number of slices. */
export function uniformGrid(grid: Grid3): Grid3 {
  const off = grid.sliceOffsets;
  if (!off) return grid;
  const n2 = grid.dims[2];
  const step = n2 > 1 ? (off[n2 - 1] as number) / (n2 - 1) : grid.spacing[2];
  return { dims: [...grid.dims], spacing: [grid.spacing[0], grid.spacing[1], step], origin: [...grid.origin], direction: grid.direction };
}

export interface Resampled<T extends VoxelArray> {
  data: T;
  grid: Grid3;
}

/** Resamples (linear) to a target spacing; see gridWithSpacing. Sources with uneven slices become uniform. */
export function resampleToSpacing(data: Float32Array, grid: Grid3, targetSpacing: Vec3, options: ResampleOptions = {}): Resampled<Float32Array> {
  const target = gridWithSpacing(grid, targetSpacing);
  return { data: resampleLinear(data, grid, target, options), grid: target };
}

/** Resamples a grid with uneven slice gaps to uniform spacing (linear along k); uniform grids pass through. */
export function resampleToUniform(data: Float32Array, grid: Grid3, options: ResampleOptions = {}): Resampled<Float32Array> {
  if (!grid.sliceOffsets) return { data, grid };
  const target = uniformGrid(grid);
  return { data: resampleLinear(data, grid, target, options), grid: target };
}

/**
 * Resize to new dims over the same physical extent (voxel edges aligned, like torch interpolate with
 * align_corners=False): linear for images, nearest for labels. Needs a uniform grid.
 */
export function resizeGrid(grid: Grid3, dims: [number, number, number]): Grid3 {
  if (grid.sliceOffsets) throw new AppError('GEOMETRY', 'resize needs uniform slice spacing; resample it first');
  if (!dims.every((d) => Number.isInteger(d) && d >= 1)) throw new AppError('CONFIG_INVALID', `resize dims must be positive integers, got ${dims.join('×')}`);
  const spacing = [0, 1, 2].map((a) => (grid.spacing[a as 0 | 1 | 2] * grid.dims[a as 0 | 1 | 2]) / (dims[a] as number)) as Vec3;
  const origin: Vec3 = [...grid.origin];
  for (let a = 0; a < 3; a++) {
    const shift = ((spacing[a] as number) - grid.spacing[a as 0 | 1 | 2]) / 2;
    const d = grid.direction[a as 0 | 1 | 2];
    for (let c = 0; c < 3; c++) origin[c] = (origin[c] as number) + shift * d[c as 0 | 1 | 2];
  }
  return { dims: [...dims], spacing, origin, direction: grid.direction };
}

export function resize3d(data: Float32Array, grid: Grid3, dims: [number, number, number]): Resampled<Float32Array> {
  const target = resizeGrid(grid, dims);
  return { data: resampleLinear(data, grid, target), grid: target };
}

export function resizeLabels3d(labels: Uint8Array, grid: Grid3, dims: [number, number, number]): Resampled<Uint8Array> {
  const target = resizeGrid(grid, dims);
  return { data: resampleNearest(labels, grid, target), grid: target };
}
