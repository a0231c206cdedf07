import { AppError } from '../../domain/errors';
import type { ClassificationFindings } from '../../domain/findings';
import type { Volume } from '../../domain/volume';
import { resizeBilinear2d, softmax } from '../../inference/tensor-ops';
import { applyIntensity } from '../../preprocessing/intensity';
import { intensityOpsOf } from '../../preprocessing/prepare';
import { assertFiniteModelInput } from '../../domain/finite';
import type { JobContext } from '../context';

/** Indices of n slices evenly spread through the volume (n = 1 → the middle slice). */
export function evenlySpacedSlices(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.min(total - 1, Math.floor(((i + 0.5) * total) / n)));
}

/** Runs a classifier over a stack of slices and turns its output into per-class probabilities and findings. */
export async function classifyVolume(ctx: JobContext, volume: Volume): Promise<ClassificationFindings> {
  const { manifest } = ctx.model;
  if (manifest.io.layout !== 'slice-stack') {
    throw new AppError('MODEL_INVALID', `classification layout "${manifest.io.layout}" is not supported yet (only "slice-stack")`);
  }
  const classes = manifest.classes ?? [];
  if (classes.length === 0) throw new AppError('MODEL_INVALID', `classification model ${manifest.id} declares no classes`);
  const { rows, columns, slices } = volume;
  const [inH, inW] = manifest.preprocessing.inputSize ?? [rows, columns];
  const picks = evenlySpacedSlices(slices, manifest.io.stackSlices ?? 1);
  const input = new Float32Array(picks.length * inH * inW);
  const plane = rows * columns;
  picks.forEach((k, c) => {
    resizeBilinear2d(volume.data.subarray(k * plane, (k + 1) * plane), rows, columns, inH, inW, input.subarray(c * inH * inW, (c + 1) * inH * inW));
  });
  // Normalisation statistics come from the model input itself.
  applyIntensity(input, intensityOpsOf(manifest.preprocessing));
  assertFiniteModelInput(input, manifest.id);
  const out = await ctx.deps.runtime.run(manifest.id, { type: 'float32', dims: [1, picks.length, inH, inW], data: input });
  const raw = Array.from(out.data as ArrayLike<number>, Number);
  // Multi-label models (sigmoid outputs, e.g. chest X-ray findings) score each class on its own.
  const probs =
    manifest.io.outputKind === 'logits' ? softmax(raw) : manifest.io.outputKind === 'sigmoid' ? raw.map((v) => 1 / (1 + Math.exp(-v))) : raw;
  return {
    kind: 'classification',
    classes: classes.map((c) => {
      const probability = probs[c.index];
      if (probability === undefined) throw new AppError('INFERENCE_FAILED', `model output has no index ${c.index} for class ${c.label}`);
      return { label: c.label, code: c.code, probability, threshold: c.threshold, present: probability >= c.threshold };
    }),
  };
}
