import { AppError } from './errors';
import type { Findings } from './findings';

/** How many values are NaN or ±Infinity. */
export function countNonFinite(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) n++;
  return n;
}

/**
 * The model input after preprocessing must be finite: a NaN there (e.g. an image of one constant value divided by
 * its zero spread) makes every output NaN, which reads as "nothing found" instead of an error.
 */
export function assertFiniteModelInput(data: ArrayLike<number>, modelId: string): void {
  const bad = countNonFinite(data);
  if (bad > 0) {
    throw new AppError('BAD_DICOM', `the input of model ${modelId} has ${bad} of ${data.length} values that are not finite after preprocessing (an image of one constant value, or pixel values out of range)`);
  }
}

/** Volumes and probabilities must be finite numbers before anything is written (no "0.0 mL" from NaN, no "NaN %"). */
export function assertFiniteFindings(findings: Findings): void {
  if (findings.kind === 'segmentation') {
    for (const s of findings.segments) {
      if (!Number.isFinite(s.volumeMl) || !Number.isFinite(s.voxelCount) || s.volumeMl < 0) {
        throw new AppError('GEOMETRY', `segment "${s.label}" has a volume that is not a finite number of mL: the voxel size (PixelSpacing, slice spacing) is not usable`);
      }
    }
  } else {
    for (const c of findings.classes) {
      if (!Number.isFinite(c.probability)) throw new AppError('INFERENCE_FAILED', `class "${c.label}" has a probability that is not a finite number: the model output is not usable`);
    }
  }
}
