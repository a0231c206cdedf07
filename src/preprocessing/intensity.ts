/**
 * Manifest intensity operations, applied in place to a Float32Array. Each op is one or two straight loops over the
 * array (statistics pass, then the elementwise pass) with no per-voxel closures.
 */
import { AppError } from '../domain/errors';
import type { IntensityOp } from '../domain/manifest';
import { percentiles } from './percentile';
import { minMax } from './stats';

/** Standard deviations below this count as zero: the data then only gets its mean subtracted. */
const TINY = 1e-8;

export function applyIntensity(data: Float32Array, ops: readonly IntensityOp[]): Float32Array {
  for (const op of ops) applyOne(data, op);
  return data;
}

function applyOne(data: Float32Array, op: IntensityOp): void {
  switch (op.op) {
    case 'clip':
      return clipInPlace(data, op.min, op.max);
    case 'window':
      return windowInPlace(data, op.center, op.width);
    case 'zscore':
      return zscoreOp(data, op);
    case 'percentile':
      return percentileScaleInPlace(data, op);
    case 'minmax':
      return minmaxScaleInPlace(data);
    case 'scale':
      return affineInPlace(data, op.multiply, op.add);
    default: {
      const unknown: never = op;
      throw new AppError('CONFIG_INVALID', `unknown intensity op ${JSON.stringify(unknown)}`);
    }
  }
}

export function clipInPlace(data: Float32Array, min: number, max: number): void {
  if (!(min <= max)) throw new AppError('CONFIG_INVALID', `clip: min ${min} is above max ${max}`);
  for (let p = 0; p < data.length; p++) {
    const v = data[p] as number;
    if (v < min) data[p] = min;
    else if (v > max) data[p] = max;
  }
}

/** x * multiply + add. */
export function affineInPlace(data: Float32Array, multiply: number, add: number): void {
  for (let p = 0; p < data.length; p++) data[p] = (data[p] as number) * multiply + add;
}

/** [center - width/2, center + width/2] → [0, 1] linearly, clamped outside. */
export function windowInPlace(data: Float32Array, center: number, width: number): void {
  if (!(width > 0)) throw new AppError('CONFIG_INVALID', `window: width must be positive, got ${width}`);
  const lo = center - width / 2;
  const inv = 1 / width;
  for (let p = 0; p < data.length; p++) {
    const t = ((data[p] as number) - lo) * inv;
    data[p] = t < 0 ? 0 : t > 1 ? 1 : t;
  }
}

/** Population mean and standard deviation (numpy's np.std default, ddof = 0), optionally over non-zero voxels only. */
export function meanStd(data: Float32Array, nonzero = false): { mean: number; std: number; count: number } {
  // One pass with float64 sums (cancellation is negligible for image ranges, |mean|/std well below 1e6). Zeros add
  // nothing to the sums, so the non-zero variant only counts them: no branch in the loop. Two accumulators each
  // let the CPU overlap the additions.
  let s0 = 0;
  let s1 = 0;
  let q0 = 0;
  let q1 = 0;
  let zeros = 0;
  const n = data.length;
  const even = n - (n % 2);
  for (let p = 0; p < even; p += 2) {
    const a = data[p] as number;
    const b = data[p + 1] as number;
    s0 += a;
    s1 += b;
    q0 += a * a;
    q1 += b * b;
    if (nonzero) zeros += (a === 0 ? 1 : 0) + (b === 0 ? 1 : 0);
  }
  if (even < n) {
    const a = data[even] as number;
    s0 += a;
    q0 += a * a;
    if (nonzero && a === 0) zeros++;
  }
  const sum = s0 + s1;
  const sq = q0 + q1;
  const count = n - zeros;
  if (count === 0) return { mean: 0, std: 0, count };
  const mean = sum / count;
  const variance = Math.max(sq / count - mean * mean, 0);
  return { mean, std: Math.sqrt(variance), count };
}

/**
 * z-score. Fixed mean/std when both are given (nnU-Net CT style); otherwise computed. With nonzero, statistics come
 * from non-zero voxels only and zero voxels stay zero (MONAI NormalizeIntensity(nonzero=True), nnU-Net's masked
 * z-score). A (near-)constant input has std treated as 1, so it only gets its mean removed (MONAI's convention).
 */
function zscoreOp(data: Float32Array, op: Extract<IntensityOp, { op: 'zscore' }>): void {
  if ((op.mean === undefined) !== (op.std === undefined)) {
    throw new AppError('CONFIG_INVALID', 'zscore: give both mean and std, or neither');
  }
  const nonzero = op.nonzero === true;
  let mean: number;
  let std: number;
  if (op.mean !== undefined && op.std !== undefined) {
    if (!(op.std > 0)) throw new AppError('CONFIG_INVALID', `zscore: std must be positive, got ${op.std}`);
    mean = op.mean;
    std = op.std;
  } else {
    ({ mean, std } = meanStd(data, nonzero));
  }
  const inv = std > TINY ? 1 / std : 1;
  if (nonzero) {
    for (let p = 0; p < data.length; p++) {
      const v = data[p] as number;
      if (v !== 0) data[p] = (v - mean) * inv;
    }
  } else {
    for (let p = 0; p < data.length; p++) data[p] = ((data[p] as number) - mean) * inv;
  }
}

/** [min, max] → [0, 1]; a constant input becomes all zeros. */
export function minmaxScaleInPlace(data: Float32Array): void {
  const { min: lo, max: hi } = minMax(data);
  const range = hi - lo;
  const inv = range > TINY ? 1 / range : 0;
  for (let p = 0; p < data.length; p++) data[p] = ((data[p] as number) - lo) * inv;
}

/**
 * Percentile scaling: the lower and upper percentiles (numpy.percentile's default "linear" definition, see
 * percentile.ts) map to outMin and outMax (default 0 and 1), values outside clamp when clip is true. When both
 * percentiles are equal every voxel becomes outMin.
 */
export function percentileScaleInPlace(data: Float32Array, op: Extract<IntensityOp, { op: 'percentile' }>): void {
  const { lower, upper } = op;
  if (!(lower >= 0 && upper <= 100 && lower <= upper)) {
    throw new AppError('CONFIG_INVALID', `percentile: need 0 ≤ lower ≤ upper ≤ 100, got ${lower}, ${upper}`);
  }
  const outMin = op.outMin ?? 0;
  const outMax = op.outMax ?? 1;
  const [pLo = 0, pHi = 0] = percentiles(data, [lower, upper]);
  const range = pHi - pLo;
  if (!(range > 0)) {
    data.fill(outMin);
    return;
  }
  const scale = (outMax - outMin) / range;
  const shift = outMin - pLo * scale;
  if (op.clip === true) {
    const lo = Math.min(outMin, outMax);
    const hi = Math.max(outMin, outMax);
    for (let p = 0; p < data.length; p++) {
      const t = (data[p] as number) * scale + shift;
      data[p] = t < lo ? lo : t > hi ? hi : t;
    }
  } else {
    for (let p = 0; p < data.length; p++) data[p] = (data[p] as number) * scale + shift;
  }
}

