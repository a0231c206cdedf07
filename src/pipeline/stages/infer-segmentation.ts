import { AppError } from '../../domain/errors';
import type { LabelMap, Volume } from '../../domain/volume';
import { minmaxInPlace, resizeBilinear2d, resizeNearest2d, zscoreInPlace } from '../../inference/tensor-ops';
import type { JobContext } from '../context';

/** Slices per inference call: bounds the input tensor size while keeping batching benefits. */
const SLICE_BATCH = 16;

function normalise(data: Float32Array, how: 'zscore' | 'minmax' | 'none'): void {
  if (how === 'zscore') zscoreInPlace(data);
  else if (how === 'minmax') minmaxInPlace(data);
}

/**
 * Runs a 2D segmentation model slice by slice: normalise over the volume, resize each slice to the model's input,
 * infer in batches (argmax in the worker), resize labels back to the source grid with nearest neighbour.
 */
export async function segmentVolume(ctx: JobContext, volume: Volume): Promise<LabelMap> {
  const { manifest } = ctx.model;
  if (manifest.io.layout !== 'slices') {
    throw new AppError('MODEL_INVALID', `segmentation layout "${manifest.io.layout}" is not supported yet (only "slices")`);
  }
  const { rows, columns, slices } = volume;
  const [inH, inW] = manifest.preprocessing.inputSize ?? [rows, columns];
  const normalised = Float32Array.from(volume.data);
  normalise(normalised, manifest.preprocessing.normalize ?? 'none');
  const labels = new Uint8Array(rows * columns * slices);
  const plane = rows * columns;
  for (let start = 0; start < slices; start += SLICE_BATCH) {
    const n = Math.min(SLICE_BATCH, slices - start);
    const input = new Float32Array(n * inH * inW);
    for (let b = 0; b < n; b++) {
      const k = start + b;
      resizeBilinear2d(normalised.subarray(k * plane, (k + 1) * plane), rows, columns, inH, inW, input.subarray(b * inH * inW, (b + 1) * inH * inW));
    }
    const reduce = manifest.io.outputKind === 'logits' ? 'argmax-channels' : 'none';
    const out = await ctx.deps.runtime.run(manifest.id, { type: 'float32', dims: [n, 1, inH, inW], data: input }, reduce);
    const outLabels = toLabels(out.data, out.dims, n, inH, inW, manifest.io.outputKind);
    for (let b = 0; b < n; b++) {
      const k = start + b;
      resizeNearest2d(outLabels.subarray(b * inH * inW, (b + 1) * inH * inW), inH, inW, rows, columns, labels.subarray(k * plane, (k + 1) * plane));
    }
  }
  return { rows, columns, slices, data: labels };
}

function toLabels(data: ArrayLike<number | bigint>, dims: readonly number[], n: number, h: number, w: number, kind: string): Uint8Array {
  const expected = n * h * w;
  if (kind === 'logits' || kind === 'labels') {
    if (data.length !== expected) {
      throw new AppError('INFERENCE_FAILED', `model output has shape [${dims.join(',')}], expected ${expected} labels`);
    }
    if (data instanceof Uint8Array) return data;
    return Uint8Array.from(data as ArrayLike<number>, (v) => Number(v));
  }
  if (kind === 'sigmoid') {
    // One channel per label: voxel gets the highest channel whose probability ≥ 0.5.
    const channels = dims[1] ?? 1;
    const out = new Uint8Array(expected);
    const plane = h * w;
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < channels; c++) {
        const base = (b * channels + c) * plane;
        for (let p = 0; p < plane; p++) if (Number(data[base + p]) >= 0.5) out[b * plane + p] = c + 1;
      }
    }
    return out;
  }
  throw new AppError('MODEL_INVALID', `output kind "${kind}" is not valid for segmentation`);
}
