import { AppError } from '../../domain/errors';
import type { ModelIO, Postprocessing } from '../../domain/manifest';
import type { LabelMap, Volume } from '../../domain/volume';
import { resizeBilinear2d, resizeNearest2d } from '../../inference/tensor-ops';
import { labelsFromOutput, postprocess } from '../../postprocessing/postprocess';
import { gridOfVolume } from '../../preprocessing/grid';
import { applyIntensity } from '../../preprocessing/intensity';
import { intensityOpsOf } from '../../preprocessing/prepare';
import { assertFiniteModelInput } from '../../domain/finite';
import type { JobContext } from '../context';
import { segmentProbabilities } from './probability-maps';

/** A label map on the source grid and, for FRACTIONAL SEGs, per-segment probabilities (uint8, 255 = 1) on it too. */
export interface SegmentationOutput {
  labels: LabelMap;
  probabilities?: Uint8Array[];
}

/** Slices per inference call: bounds the input tensor size while keeping batching benefits. */
const SLICE_BATCH = 16;

/**
 * Runs a 2D segmentation model slice by slice: intensity operations over the whole volume, resize each slice to the
 * model's input, infer in batches (argmax in the worker), resize labels back to the source grid with nearest
 * neighbour, then the manifest's post-processing (remap, largest component) on the source grid.
 */
export async function segmentVolume(ctx: JobContext, volume: Volume): Promise<SegmentationOutput> {
  const { manifest } = ctx.model;
  if (manifest.io.layout !== 'slices') {
    throw new AppError('MODEL_INVALID', `segmentation layout "${manifest.io.layout}" is not supported yet (only "slices")`);
  }
  const { rows, columns, slices } = volume;
  const [inH, inW] = manifest.preprocessing.inputSize ?? [rows, columns];
  const normalised = applyIntensity(Float32Array.from(volume.data), intensityOpsOf(manifest.preprocessing));
  assertFiniteModelInput(normalised, manifest.id);
  const labels = new Uint8Array(rows * columns * slices);
  const plane = rows * columns;
  const segments = manifest.segments ?? [];
  const fractional = manifest.segmentationType === 'FRACTIONAL';
  const probabilities = fractional ? segments.map(() => new Uint8Array(rows * columns * slices)) : undefined;
  for (let start = 0; start < slices; start += SLICE_BATCH) {
    const n = Math.min(SLICE_BATCH, slices - start);
    const input = new Float32Array(n * inH * inW);
    for (let b = 0; b < n; b++) {
      const k = start + b;
      resizeBilinear2d(normalised.subarray(k * plane, (k + 1) * plane), rows, columns, inH, inW, input.subarray(b * inH * inW, (b + 1) * inH * inW));
    }
    // FRACTIONAL needs the channels themselves, so the worker only reduces to labels when nothing else is wanted.
    const reduce = manifest.io.outputKind === 'logits' && !fractional ? 'argmax-channels' : 'none';
    const out = await ctx.deps.runtime.run(manifest.id, { type: 'float32', dims: [n, 1, inH, inW], data: input }, reduce);
    const outLabels = toLabels(out.data, out.dims, n * inH * inW, reduce === 'argmax-channels' ? 'labels' : manifest.io.outputKind, manifest.postprocessing);
    const outProbs = probabilities ? segmentProbabilities(out.data as Float32Array, out.dims, manifest.io.outputKind, segments) : [];
    for (let b = 0; b < n; b++) {
      const k = start + b;
      resizeNearest2d(outLabels.subarray(b * inH * inW, (b + 1) * inH * inW), inH, inW, rows, columns, labels.subarray(k * plane, (k + 1) * plane));
      outProbs.forEach((p, s) => {
        const target = probabilities?.[s];
        if (target) resizeNearest2d(p.subarray(b * inH * inW, (b + 1) * inH * inW), inH, inW, rows, columns, target.subarray(k * plane, (k + 1) * plane));
      });
    }
  }
  postprocess(labels, gridOfVolume(volume), manifest.postprocessing);
  const result: SegmentationOutput = { labels: { rows, columns, slices, data: labels } };
  if (probabilities) result.probabilities = probabilities;
  return result;
}

function toLabels(data: ArrayLike<number | bigint>, dims: readonly number[], expected: number, kind: ModelIO['outputKind'], post: Postprocessing | undefined): Uint8Array {
  if (kind === 'labels') {
    if (data.length !== expected) {
      throw new AppError('INFERENCE_FAILED', `model output has shape [${dims.join(',')}], expected ${expected} labels`);
    }
    if (data instanceof Uint8Array) return data;
    return Uint8Array.from(data as ArrayLike<number>, (v) => Number(v));
  }
  const floats = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number);
  const labels = labelsFromOutput(floats, dims, kind, post);
  if (labels.length !== expected) throw new AppError('INFERENCE_FAILED', `model output has shape [${dims.join(',')}], expected ${expected} voxels`);
  return labels;
}
