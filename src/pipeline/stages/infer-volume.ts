import { AppError } from '../../domain/errors';
import type { Volume } from '../../domain/volume';
import { runVolumeModel } from '../../inference/volume';
import { labelsFromOutput, postprocess } from '../../postprocessing/postprocess';
import { gridOfVolume } from '../../preprocessing/grid';
import { prepareVolume } from '../../preprocessing/prepare';
import { assertFiniteModelInput } from '../../domain/finite';
import type { JobContext } from '../context';
import type { SegmentationOutput } from './infer-segmentation';
import { segmentProbabilities } from './probability-maps';

/**
 * Runs a 3D ("volume" layout) segmentation model: the manifest's preprocessing (reorient, resample, crop/pad,
 * intensity/channels) onto the model grid, whole-volume or sliding-window inference in the worker, labels back onto
 * the source grid (exact for reorientation, nearest for resampling), then post-processing on the source grid.
 */
export async function segmentVolume3d(ctx: JobContext, volume: Volume): Promise<SegmentationOutput> {
  const { manifest } = ctx.model;
  if (manifest.io.layout !== 'volume') throw new AppError('MODEL_INVALID', `segmentVolume3d needs layout "volume", got "${manifest.io.layout}"`);
  const prepared = prepareVolume(volume, manifest.preprocessing);
  assertFiniteModelInput(prepared.tensor, manifest.id);
  const [ni, nj, nk] = prepared.grid.dims;
  const kind = manifest.io.outputKind;
  const fractional = manifest.segmentationType === 'FRACTIONAL';
  const reduce = (kind === 'logits' || kind === 'probabilities') && !fractional ? 'argmax-channels' : 'none';
  const out = await runVolumeModel(ctx.deps.runtime, manifest.id, prepared.tensor, [prepared.channels, nk, nj, ni], manifest.io.slidingWindow, reduce);
  const modelLabels = out.kind === 'labels' ? out.data : labelsFromOutput(out.data, [1, ...out.dims], kind, manifest.postprocessing);
  if (modelLabels.length !== ni * nj * nk) {
    throw new AppError('INFERENCE_FAILED', `model output has ${modelLabels.length} voxels, the model grid ${ni}×${nj}×${nk}`);
  }
  const labels = prepared.restoreLabels(modelLabels);
  postprocess(labels, gridOfVolume(volume), manifest.postprocessing);
  const result: SegmentationOutput = { labels: { rows: volume.rows, columns: volume.columns, slices: volume.slices, data: labels } };
  if (fractional && out.kind === 'logits') {
    // Quantised maps go back like labels (nearest), the resolution a FRACTIONAL SEG keeps anyway.
    result.probabilities = segmentProbabilities(out.data, [1, ...out.dims], kind, manifest.segments ?? []).map((p) => prepared.restoreLabels(p));
  }
  return result;
}
