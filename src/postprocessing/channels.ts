/**
 * Model outputs [N, C, ...spatial] → per-voxel results: softmax over channels, argmax (src/inference/argmax.ts),
 * and sigmoid probabilities with per-channel thresholds.
 */
import { AppError } from '../domain/errors';
import { argmaxChannels } from '../inference/argmax';

export { argmaxChannels };

function split(dims: readonly number[], length: number): { n: number; c: number; plane: number } {
  const [n = 1, c = 1, ...spatial] = dims;
  const plane = spatial.reduce((a, b) => a * b, 1);
  if (n * c * plane !== length) throw new AppError('INFERENCE_FAILED', `output of ${length} values does not match shape [${dims.join(',')}]`);
  return { n, c, plane };
}

/** Softmax over the channel axis of [N, C, ...spatial], in place (numerically stable: max subtracted first). */
export function softmaxChannels(data: Float32Array, dims: readonly number[]): Float32Array {
  const { n, c, plane } = split(dims, data.length);
  const max = new Float32Array(plane);
  const sum = new Float64Array(plane);
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    // Channel-major sweeps keep memory access sequential.
    max.set(data.subarray(base, base + plane));
    for (let ch = 1; ch < c; ch++) {
      const off = base + ch * plane;
      for (let p = 0; p < plane; p++) if ((data[off + p] as number) > (max[p] as number)) max[p] = data[off + p] as number;
    }
    sum.fill(0);
    for (let ch = 0; ch < c; ch++) {
      const off = base + ch * plane;
      for (let p = 0; p < plane; p++) {
        const e = Math.exp((data[off + p] as number) - (max[p] as number));
        data[off + p] = e;
        sum[p] = (sum[p] as number) + e;
      }
    }
    for (let ch = 0; ch < c; ch++) {
      const off = base + ch * plane;
      for (let p = 0; p < plane; p++) data[off + p] = (data[off + p] as number) / (sum[p] as number);
    }
  }
  return data;
}

export interface ThresholdOptions {
  /** Threshold per channel (default 0.5 each); a voxel is in channel c when its probability ≥ thresholds[c]. */
  thresholds?: readonly number[];
  /** The output holds logits: compare against logit(threshold) instead (same result as sigmoid then compare). */
  logits?: boolean;
}

/**
 * Per-channel probabilities [N, C, ...spatial] → labels [N, ...spatial]: channel c gives label c + 1, 0 where no
 * channel reaches its threshold. Where several channels do, the highest channel index wins (later channels are
 * painted over earlier ones, as the 2D segmentation stage does).
 */
export function thresholdChannels(data: Float32Array, dims: readonly number[], options: ThresholdOptions = {}): Uint8Array {
  const { n, c, plane } = split(dims, data.length);
  if (c > 255) throw new AppError('MODEL_INVALID', `${c} channels do not fit uint8 labels`);
  const thresholds = options.thresholds ?? [];
  if (thresholds.length > c) throw new AppError('CONFIG_INVALID', `${thresholds.length} thresholds for ${c} output channels`);
  const out = new Uint8Array(n * plane);
  for (let ch = 0; ch < c; ch++) {
    const t = thresholds[ch] ?? 0.5;
    if (!(t > 0 && t < 1) && options.logits === true) throw new AppError('CONFIG_INVALID', `threshold ${t} must be in (0, 1) for logits`);
    const cut = options.logits === true ? Math.log(t / (1 - t)) : t;
    const label = ch + 1;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * plane;
      const outOff = b * plane;
      for (let p = 0; p < plane; p++) if ((data[off + p] as number) >= cut) out[outOff + p] = label;
    }
  }
  return out;
}
