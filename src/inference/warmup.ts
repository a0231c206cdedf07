/** Choosing the zero tensor a model is warmed up with at load (the first run pays one-off allocation costs). */
import type { ModelManifest } from '../domain/manifest';

/**
 * The input shape the manifest implies for one small run: the sliding-window ROI, the crop/pad size or the 2D
 * input size, with batch 1. Undefined when the manifest does not say (e.g. a whole-volume 3D model).
 */
export function warmupHint(manifest: Pick<ModelManifest, 'io' | 'preprocessing'>): number[] | undefined {
  const { io, preprocessing: pre } = manifest;
  const channels = io.layout === 'slice-stack' ? (io.stackSlices ?? 1) : (pre.channels?.length ?? 1);
  if (io.layout === 'volume') {
    const spatial = io.slidingWindow?.roiSize ?? pre.cropOrPadTo;
    return spatial ? [1, channels, ...spatial] : undefined;
  }
  return pre.inputSize ? [1, channels, ...pre.inputSize] : undefined;
}

/**
 * Warm-up input shape: the graph's fixed dimensions, symbolic ones taken from the manifest's hint (a symbolic batch
 * axis defaults to 1). A string says why no shape can be known.
 */
export function warmupShape(declared: readonly (number | string)[] | undefined, hint: readonly number[] | undefined): number[] | string {
  if (!declared) return hint ? [...hint] : 'the ONNX input declares no shape and the manifest gives no input size';
  const usable = hint && hint.length === declared.length ? hint : undefined;
  const shape: number[] = [];
  for (let i = 0; i < declared.length; i++) {
    const dim = declared[i];
    const v = typeof dim === 'number' && dim > 0 ? dim : (usable?.[i] ?? (i === 0 ? 1 : undefined));
    if (v === undefined) return `input dimension ${i} ("${String(dim)}") is symbolic and the manifest gives no size for it`;
    shape.push(v);
  }
  return shape;
}
