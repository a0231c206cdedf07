/**
 * Sliding-window inference over a [C, D, H, W] volume with MONAI `sliding_window_inference` semantics:
 * the volume is padded symmetrically (constant) up to the ROI where it is smaller, windows start every
 * roi·(1 − overlap) voxels with the last one aligned to the end, patch outputs are blended with a constant or
 * Gaussian importance map, summed, divided by the summed weights and cropped back to the input size.
 *
 * Memory: one [K, D, H, W] accumulator, one [D, H, W] weight map and one reused patch buffer. Padding is never
 * materialised: patch voxels outside the volume are filled with the pad value, and outputs there are dropped
 * (they would be cropped away anyway).
 *
 * The model call is a parameter, so the same code tiles inside an inference worker (decision 0006) or on the main
 * thread through a ModelRuntime.
 */
import { AppError } from '../domain/errors';
import type { SlidingWindow } from '../domain/manifest';

/**
 * Runs the model on a batch [n, C, d, h, w] and returns its output [n, K, d, h, w]. The batch buffer is reused for
 * the next batch once the promise resolves: a predictor that keeps or transfers it must copy it first.
 */
export type PatchPredictor = (batch: Float32Array, dims: number[]) => Promise<{ data: Float32Array; dims: readonly number[] }>;

export interface SlidingWindowSettings extends SlidingWindow {
  /** Constant for voxels padded around a volume smaller than the ROI (MONAI cval, default 0). */
  padValue?: number;
}

/** MONAI's floor on the Gaussian importance map, relative to its peak, so no voxel gets a zero weight. */
export const MIN_IMPORTANCE = 1e-3;

export interface VolumeResult {
  data: Float32Array;
  /** [K, D, H, W] */
  dims: [number, number, number, number];
}

/** Window start positions along one axis of a (padded) size, MONAI `_get_scan_interval` + `dense_patch_slices`. */
export function windowStarts(size: number, roi: number, overlap: number): number[] {
  const interval = roi === size ? roi : Math.max(1, Math.trunc(roi * (1 - overlap)));
  const maxCount = Math.ceil(size / interval);
  let count = 1;
  for (let d = 0; d < maxCount; d++) {
    if (d * interval + roi >= size) {
      count = d + 1;
      break;
    }
  }
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = i * interval;
    starts.push(s - Math.max(s + roi - size, 0));
  }
  return starts;
}

/**
 * Per-voxel blending weights of one patch [d, h, w]: all ones, or a separable Gaussian centred on the patch with
 * sigma = sigmaScale·roi per axis, scaled to a peak of 1 and floored at MIN_IMPORTANCE.
 */
export function importanceMap(roi: readonly [number, number, number], blend: SlidingWindow['blend'], sigmaScale = 0.125): Float32Array {
  const [rd, rh, rw] = roi;
  const map = new Float32Array(rd * rh * rw);
  if (blend === 'constant') return map.fill(1);
  const axis = (r: number): Float64Array => {
    const sigma = sigmaScale * r;
    const g = new Float64Array(r);
    for (let i = 0; i < r; i++) {
      const x = i - (r - 1) / 2;
      g[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    }
    return g;
  };
  const gd = axis(rd);
  const gh = axis(rh);
  const gw = axis(rw);
  let peak = 0;
  for (let z = 0, i = 0; z < rd; z++) {
    for (let y = 0; y < rh; y++) {
      const zy = (gd[z] as number) * (gh[y] as number);
      for (let x = 0; x < rw; x++, i++) {
        const v = zy * (gw[x] as number);
        map[i] = v;
        if (v > peak) peak = v;
      }
    }
  }
  for (let i = 0; i < map.length; i++) map[i] = Math.max((map[i] as number) / peak, MIN_IMPORTANCE);
  return map;
}

function invalid(message: string): AppError {
  return new AppError('INFERENCE_FAILED', `sliding window: ${message}`);
}

function checkSettings(dims: readonly number[], length: number, sw: SlidingWindowSettings): void {
  if (dims.length !== 4 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw invalid(`input dims must be [C, D, H, W] positive integers, got [${dims.join(', ')}]`);
  }
  if (dims.reduce((a, b) => a * b, 1) !== length) throw invalid(`input has ${length} values but dims [${dims.join(', ')}] need ${dims.reduce((a, b) => a * b, 1)}`);
  if (sw.roiSize.length !== 3 || sw.roiSize.some((r) => !Number.isInteger(r) || r < 1)) {
    throw invalid(`roiSize must be three positive integers, got [${sw.roiSize.join(', ')}]`);
  }
  if (!(sw.overlap >= 0 && sw.overlap < 1)) throw invalid(`overlap must be in [0, 1), got ${sw.overlap}`);
  if (!Number.isInteger(sw.batchSize) || sw.batchSize < 1) throw invalid(`batchSize must be a positive integer, got ${sw.batchSize}`);
  if (sw.blend !== 'constant' && sw.blend !== 'gaussian') throw invalid(`blend must be "constant" or "gaussian", got "${String(sw.blend)}"`);
  if (sw.sigmaScale !== undefined && !(sw.sigmaScale > 0)) throw invalid(`sigmaScale must be > 0, got ${sw.sigmaScale}`);
}

interface Window {
  /** Patch origin in input voxel coordinates (negative where the patch reaches into the padding). */
  z: number;
  y: number;
  x: number;
}

/** All windows, depth outermost (MONAI order), in input coordinates. */
export function slidingWindows(spatial: readonly [number, number, number], roi: readonly [number, number, number], overlap: number): Window[] {
  const [starts0, starts1, starts2] = spatial.map((size, a) => {
    const r = roi[a] as number;
    const padded = Math.max(size, r);
    const before = Math.floor((padded - size) / 2);
    return windowStarts(padded, r, overlap).map((s) => s - before);
  }) as [number[], number[], number[]];
  const out: Window[] = [];
  for (const z of starts0) for (const y of starts1) for (const x of starts2) out.push({ z, y, x });
  return out;
}

/** Copies one patch of every channel into `dst` at `offset`, filling voxels outside the volume with padValue. */
function extractPatch(src: Float32Array, dims: readonly number[], w: Window, roi: readonly number[], padValue: number, dst: Float32Array, offset: number): void {
  const [c = 1, d = 1, h = 1, wd = 1] = dims;
  const [rd = 1, rh = 1, rw = 1] = roi;
  const x0 = Math.max(0, w.x);
  const x1 = Math.min(wd, w.x + rw);
  let o = offset;
  for (let ch = 0; ch < c; ch++) {
    for (let pz = 0; pz < rd; pz++) {
      const z = w.z + pz;
      for (let py = 0; py < rh; py++, o += rw) {
        const y = w.y + py;
        if (z < 0 || z >= d || y < 0 || y >= h || x1 <= x0) {
          dst.fill(padValue, o, o + rw);
          continue;
        }
        const row = ((ch * d + z) * h + y) * wd;
        if (x0 > w.x) dst.fill(padValue, o, o + (x0 - w.x));
        dst.set(src.subarray(row + x0, row + x1), o + (x0 - w.x));
        if (x1 < w.x + rw) dst.fill(padValue, o + (x1 - w.x), o + rw);
      }
    }
  }
}

/**
 * Sliding-window inference of `predict` over `input` [C, D, H, W]; returns the blended output [K, D, H, W].
 * The model must be fully convolutional in the sense that a patch output has the patch's spatial size.
 */
export async function slidingWindowInference(
  input: Float32Array,
  dims: readonly number[],
  sw: SlidingWindowSettings,
  predict: PatchPredictor,
): Promise<VolumeResult> {
  checkSettings(dims, input.length, sw);
  const [c, d, h, w] = dims as [number, number, number, number];
  const roi = sw.roiSize;
  const [rd, rh, rw] = roi;
  const patchVoxels = rd * rh * rw;
  const plane = d * h * w;
  const importance = importanceMap(roi, sw.blend, sw.sigmaScale ?? 0.125);
  const windows = slidingWindows([d, h, w], roi, sw.overlap);
  const batchCap = Math.min(sw.batchSize, windows.length);
  const buffer = new Float32Array(batchCap * c * patchVoxels);
  const weights = new Float32Array(plane);
  let acc: Float32Array | undefined;
  let k = 0;

  for (let first = 0; first < windows.length; first += batchCap) {
    const batch = windows.slice(first, first + batchCap);
    for (let b = 0; b < batch.length; b++) extractPatch(input, dims, batch[b] as Window, roi, sw.padValue ?? 0, buffer, b * c * patchVoxels);
    const view = batch.length === batchCap ? buffer : buffer.subarray(0, batch.length * c * patchVoxels);
    const out = await predict(view, [batch.length, c, rd, rh, rw]);
    const [n, kOut = 0, od, oh, ow] = out.dims;
    if (out.dims.length !== 5 || n !== batch.length || od !== rd || oh !== rh || ow !== rw || kOut < 1) {
      throw invalid(`model output [${out.dims.join(', ')}] does not match the patch batch [${batch.length}, K, ${roi.join(', ')}]`);
    }
    if (out.data.length !== n * kOut * patchVoxels) throw invalid(`model output has ${out.data.length} values for dims [${out.dims.join(', ')}]`);
    if (!acc) {
      k = kOut;
      acc = new Float32Array(k * plane);
    } else if (kOut !== k) {
      throw invalid(`model output channels changed from ${k} to ${kOut} between batches`);
    }
    for (let b = 0; b < batch.length; b++) accumulate(acc, weights, out.data, b * k * patchVoxels, k, [d, h, w], batch[b] as Window, roi, importance);
  }
  if (!acc) throw invalid('no windows were run');
  for (let ch = 0; ch < k; ch++) {
    const base = ch * plane;
    for (let i = 0; i < plane; i++) acc[base + i] = (acc[base + i] as number) / (weights[i] as number);
  }
  return { data: acc, dims: [k, d, h, w] };
}

/** Adds one weighted patch output [K, rd, rh, rw] into the accumulator; voxels in the padding are skipped. */
function accumulate(
  acc: Float32Array,
  weights: Float32Array,
  out: Float32Array,
  outOffset: number,
  k: number,
  spatial: readonly [number, number, number],
  win: Window,
  roi: readonly [number, number, number],
  importance: Float32Array,
): void {
  const [d, h, w] = spatial;
  const [rd, rh, rw] = roi;
  const plane = d * h * w;
  const patchVoxels = rd * rh * rw;
  const z0 = Math.max(0, -win.z);
  const z1 = Math.min(rd, d - win.z);
  const y0 = Math.max(0, -win.y);
  const y1 = Math.min(rh, h - win.y);
  const x0 = Math.max(0, -win.x);
  const x1 = Math.min(rw, w - win.x);
  for (let pz = z0; pz < z1; pz++) {
    for (let py = y0; py < y1; py++) {
      const prow = (pz * rh + py) * rw;
      const vrow = ((win.z + pz) * h + (win.y + py)) * w + win.x;
      for (let px = x0; px < x1; px++) weights[vrow + px] = (weights[vrow + px] as number) + (importance[prow + px] as number);
      for (let ch = 0; ch < k; ch++) {
        const o = outOffset + ch * patchVoxels + prow;
        const a = ch * plane + vrow;
        for (let px = x0; px < x1; px++) acc[a + px] = (acc[a + px] as number) + (importance[prow + px] as number) * (out[o + px] as number);
      }
    }
  }
}
