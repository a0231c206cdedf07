/** Running a 3D ("volume" layout) model on a [C, D, H, W] volume, whole or with sliding-window tiling. */
import { AppError } from '../domain/errors';
import type { SlidingWindow } from '../domain/manifest';
import type { TensorData } from '../ports/model-runtime';
import type { PatchPredictor } from './sliding-window';
import type { Reduction } from './worker-protocol';

/** What runVolumeModel needs from a runtime (WorkerPoolRuntime has both). */
export interface VolumeRuntime {
  run(modelId: string, input: TensorData, reduce?: Reduction): Promise<TensorData>;
  runSlidingWindow(modelId: string, input: TensorData, window: SlidingWindow, reduce?: Reduction): Promise<TensorData>;
}

export type VolumeOutput =
  /** Blended model output [K, D, H, W] (logits, or probabilities if the graph ends in a softmax/sigmoid). */
  | { kind: 'logits'; data: Float32Array; dims: number[] }
  /** argmax over K, [D, H, W]. */
  | { kind: 'labels'; data: Uint8Array; dims: number[] };

/**
 * Runs `modelId` on `input` [C, D, H, W]: with sliding-window tiling inside the worker when `window` is given,
 * else as one [1, C, D, H, W] run. reduce "argmax-channels" returns uint8 labels computed in the worker.
 * The input buffer is transferred to the worker: pass a copy if you still need it.
 */
export async function runVolumeModel(
  runtime: VolumeRuntime,
  modelId: string,
  input: Float32Array,
  dims: readonly number[],
  window?: SlidingWindow,
  reduce: Reduction = 'none',
): Promise<VolumeOutput> {
  if (dims.length !== 4) throw new AppError('INFERENCE_FAILED', `a volume model input must be [C, D, H, W], got [${dims.join(', ')}]`);
  const spatial = dims.slice(1);
  const out = window
    ? await runtime.runSlidingWindow(modelId, { type: 'float32', dims: [...dims], data: input }, window, reduce)
    : await runtime.run(modelId, { type: 'float32', dims: [1, ...dims], data: input }, reduce);
  if (reduce === 'argmax-channels') {
    if (out.type !== 'uint8') throw new AppError('INFERENCE_FAILED', `model ${modelId}: expected uint8 labels, got ${out.type}`);
    return { kind: 'labels', data: out.data as Uint8Array, dims: spatial };
  }
  if (out.type !== 'float32') throw new AppError('INFERENCE_FAILED', `model ${modelId}: expected float32 output, got ${out.type}`);
  // A whole-volume run returns [1, K, D, H, W]; drop the batch axis so both paths give [K, D, H, W].
  const k = window ? out.dims[0] : out.dims[1];
  return { kind: 'logits', data: out.data as Float32Array, dims: [k ?? 1, ...spatial] };
}

/**
 * A PatchPredictor that sends every patch batch through `runtime.run` (tiling on the calling thread). Copies the
 * batch, because the runtime transfers its input buffer and slidingWindowInference reuses that buffer.
 */
export function patchPredictorFor(runtime: Pick<VolumeRuntime, 'run'>, modelId: string): PatchPredictor {
  return async (batch, dims) => {
    const out = await runtime.run(modelId, { type: 'float32', dims, data: batch.slice() });
    if (out.type !== 'float32') throw new AppError('INFERENCE_FAILED', `model ${modelId}: expected float32 output, got ${out.type}`);
    return { data: out.data as Float32Array, dims: out.dims };
  };
}
