/**
 * Label-map post-processing from the manifest, in this order: label remap, then largest connected component (on
 * the remapped values, i.e. the values the SEG reports). Thresholds are applied earlier, when model outputs become
 * labels (see labelsFromOutput).
 */
import { AppError } from '../domain/errors';
import type { ModelIO, Postprocessing } from '../domain/manifest';
import type { Grid3 } from '../preprocessing/grid';
import { argmaxChannels, softmaxChannels, thresholdChannels } from './channels';
import { keepLargestComponent } from './largest-component';
import { remapLabels } from './remap';

export { argmaxChannels, softmaxChannels, thresholdChannels, keepLargestComponent, remapLabels };

/** In place on labels of the given grid; returns them. */
export function postprocess(labels: Uint8Array, grid: Grid3, options: Postprocessing = {}): Uint8Array {
  if (options.labelRemap) remapLabels(labels, options.labelRemap);
  const which = options.largestComponent;
  if (which === true || (Array.isArray(which) && which.length > 0)) keepLargestComponent(labels, grid.dims, which);
  return labels;
}

/**
 * Raw segmentation output [N, C, ...spatial] → labels [N, ...spatial] by outputKind: "labels" as is (1 channel),
 * "logits" argmax, "sigmoid" per-channel thresholds (probabilities), "probabilities" argmax.
 */
export function labelsFromOutput(data: Float32Array, dims: readonly number[], kind: ModelIO['outputKind'], options: Postprocessing = {}): Uint8Array {
  switch (kind) {
    case 'labels':
      return Uint8Array.from(data);
    case 'logits':
    case 'probabilities':
      return argmaxChannels(data, dims).data;
    case 'sigmoid':
      return thresholdChannels(data, dims, options.thresholds ? { thresholds: options.thresholds } : {});
    default:
      throw new AppError('MODEL_INVALID', `unknown output kind ${String(kind)}`);
  }
}
