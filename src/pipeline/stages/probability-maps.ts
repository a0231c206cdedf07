import { AppError } from '../../domain/errors';
import type { ModelIO, SegmentDefinition } from '../../domain/manifest';
import { softmaxChannels } from '../../postprocessing/channels';

/**
 * Per-segment probability maps from a raw segmentation output [N, C, ...spatial], quantised to uint8 (255 = 1.0),
 * the resolution a FRACTIONAL SEG stores anyway. Quantising first lets the maps go back to the source grid through
 * the same exact nearest-neighbour paths as label maps.
 * Channel of a segment: its labelValue for softmax outputs ("logits", "probabilities"), labelValue − 1 for
 * "sigmoid" outputs (channel c is label c + 1, as in thresholding).
 */
export function segmentProbabilities(output: Float32Array, dims: readonly number[], kind: ModelIO['outputKind'], segments: readonly SegmentDefinition[]): Uint8Array[] {
  const [n = 1, c = 1, ...spatial] = dims;
  const plane = spatial.reduce((a, b) => a * b, 1);
  if (n * c * plane !== output.length) throw new AppError('INFERENCE_FAILED', `model output of ${output.length} values does not match [${dims.join(',')}]`);
  if (kind === 'labels') throw new AppError('MODEL_INVALID', 'a FRACTIONAL SEG needs probabilities or logits, but the model outputs labels');
  const probs = kind === 'logits' ? softmaxChannels(Float32Array.from(output), dims) : output;
  return segments.map((s) => {
    const channel = kind === 'sigmoid' ? s.labelValue - 1 : s.labelValue;
    if (channel < 0 || channel >= c) throw new AppError('MODEL_INVALID', `segment "${s.label}" (label ${s.labelValue}) has no output channel (${c} channels)`);
    const out = new Uint8Array(n * plane);
    for (let b = 0; b < n; b++) {
      const base = (b * c + channel) * plane;
      for (let p = 0; p < plane; p++) {
        const v = probs[base + p] as number;
        out[b * plane + p] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      }
    }
    return out;
  });
}
