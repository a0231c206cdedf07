/**
 * prepareVolume: the manifest's preprocessing for 3D models, from a decoded volume to the model's input tensor, with
 * the way back for the label map.
 *
 * Steps, in order:
 *  1. Uneven slice gaps (grid.sliceOffsets): refused unless nonUniformSpacing is "resample".
 *  2. Reorient to `orientation` (axis permutation/flips, exact).
 *  3. Resample (trilinear, 0 outside) to `targetSpacing`, or to uniform spacing (mean gap) for uneven slices.
 *     Steps 2 and 3 are planned on geometry first, so the data is interpolated at most once: when resampling is
 *     needed it goes straight from the source grid to the final grid (which the reorientation shaped).
 *  4. Centred crop/pad to `cropOrPadTo` ([k, j, i]) with `padValue` (default 0).
 *  5. Intensity: `channels` (one output channel each), else `intensity`, else the `normalize` shorthand.
 * restoreLabels undoes 4, then 3 (nearest) or 2 (exact permutation), giving labels on the source volume's grid.
 */
import { AppError } from '../domain/errors';
import type { IntensityOp, Preprocessing } from '../domain/manifest';
import type { Volume } from '../domain/volume';
import { stackChannels } from './channels';
import { cropOrPad } from './crop-pad';
import { gridOfVolume, type Grid3 } from './grid';
import { applyIntensity } from './intensity';
import { gridWithSpacing, labelsBackToGrid, resampleLinear, uniformGrid } from './resample';
import { reorient, reorientGrid } from './reorient';

export interface PreparedVolume {
  /** Model input, [C, k, j, i] (C = 1 unless channels are configured). */
  tensor: Float32Array;
  channels: number;
  /** The grid of the model input (after all geometry steps). */
  grid: Grid3;
  /** The source volume's grid. */
  sourceGrid: Grid3;
  /** Labels on the model grid → labels on the source volume's grid. */
  restoreLabels(labels: Uint8Array): Uint8Array;
}

/** Spacings within this relative difference count as equal (no resampling). */
const SAME_SPACING = 1e-4;

export function intensityOpsOf(pre: Preprocessing): IntensityOp[] {
  if (pre.intensity) return pre.intensity;
  if (pre.normalize === 'zscore') return [{ op: 'zscore' }];
  if (pre.normalize === 'minmax') return [{ op: 'minmax' }];
  return [];
}

export function prepareVolume(volume: Volume, pre: Preprocessing): PreparedVolume {
  const sourceGrid = gridOfVolume(volume);
  if (sourceGrid.sliceOffsets && pre.nonUniformSpacing !== 'resample') {
    throw new AppError('GEOMETRY', 'the series has non-uniform slice spacing and the model does not allow resampling it', {
      details: { slices: sourceGrid.dims[2] },
    });
  }

  // Geometry plan: uniform → reoriented → target spacing.
  const uniform = uniformGrid(sourceGrid);
  const oriented = pre.orientation ? reorientGrid(uniform, pre.orientation).grid : uniform;
  const spacingDiffers =
    pre.targetSpacing !== undefined &&
    pre.targetSpacing.some((s, a) => Math.abs(s - oriented.spacing[a as 0 | 1 | 2]) > SAME_SPACING * s);
  const modelSpaced = spacingDiffers && pre.targetSpacing ? gridWithSpacing(oriented, pre.targetSpacing) : oriented;

  let data: Float32Array;
  let grid: Grid3;
  let restoreGeometry: (labels: Uint8Array) => Uint8Array;
  if (sourceGrid.sliceOffsets || spacingDiffers) {
    data = resampleLinear(volume.data, sourceGrid, modelSpaced, { outside: 0 });
    grid = modelSpaced;
    restoreGeometry = (labels) => labelsBackToGrid(labels, modelSpaced, sourceGrid);
  } else if (pre.orientation) {
    const r = reorient(volume.data, sourceGrid, pre.orientation);
    ({ data, grid } = r);
    restoreGeometry = r.restoreLabels;
  } else {
    data = volume.data;
    grid = sourceGrid;
    restoreGeometry = (labels) => labels;
  }

  let restoreCrop: (labels: Uint8Array) => Uint8Array = (labels) => labels;
  if (pre.cropOrPadTo) {
    const [k, j, i] = pre.cropOrPadTo;
    const c = cropOrPad(data, grid, [i, j, k], pre.padValue ?? 0);
    ({ data, grid } = c);
    restoreCrop = c.restoreLabels;
  }

  let tensor: Float32Array;
  let channels = 1;
  if (pre.channels && pre.channels.length > 0) {
    tensor = stackChannels(data, pre.channels);
    channels = pre.channels.length;
  } else {
    // Intensity ops work in place: never on the caller's volume.
    tensor = data === volume.data ? Float32Array.prototype.slice.call(data) : data;
    applyIntensity(tensor, intensityOpsOf(pre));
  }

  return {
    tensor,
    channels,
    grid,
    sourceGrid,
    restoreLabels: (labels) => {
      if (labels.length !== grid.dims[0] * grid.dims[1] * grid.dims[2]) {
        throw new AppError('INFERENCE_FAILED', `label map of ${labels.length} voxels does not match the model grid ${grid.dims.join('×')}`);
      }
      return restoreGeometry(restoreCrop(labels));
    },
  };
}
