/**
 * Event-loop lag while a 3D sliding-window inference runs (tiny-unet3d, 128³ volume, 32³ windows, overlap 0.25,
 * Gaussian blending), measured with perf_hooks.monitorEventLoopDelay (10 ms resolution) in three set-ups, one run:
 *   worker       tiling and inference inside a WorkerPoolRuntime worker (what the service does),
 *   main-tiling  tiling on the main thread, each patch batch sent to the worker (the alternative in decision 0006),
 *   main         the same tiling with onnxruntime called directly on the main thread (what the worker pool avoids),
 *   main-whole   one whole-volume run on the main thread (a 3D model without tiling blocks for the whole run).
 * Prints one JSON line; target p99 ≤ 50 ms for the worker case.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { LoadedModel, ModelManifest, SlidingWindow } from '../src/domain/manifest';
import { sha256File } from '../src/models/registry';
import { slidingWindowInference } from '../src/inference/sliding-window';
import { patchPredictorFor, runVolumeModel } from '../src/inference/volume';
import { WorkerPoolRuntime } from '../src/inference/worker-pool';

const SIZE = 128;
const MODEL_DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'models', 'tiny-unet3d');

interface Lag {
  ms: number;
  p99: number;
  max: number;
  /** Fraction of the run the main thread's event loop was busy (performance.eventLoopUtilization). */
  busy: number;
}

async function measure(work: () => Promise<unknown>): Promise<Lag> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // The histogram only measures from its first timer tick on: start the work after it, or a stall that begins
  // right away goes unrecorded.
  await new Promise((resolve) => setTimeout(resolve, 30));
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  await work();
  const busy = performance.eventLoopUtilization(elu0).utilization;
  const ms = performance.now() - t0;
  // Let the sampling timer fire once more, so a stall that lasted until the end is recorded.
  await new Promise((resolve) => setTimeout(resolve, 30));
  h.disable();
  return { ms: Math.round(ms), p99: +(h.percentile(99) / 1e6).toFixed(1), max: +(h.max / 1e6).toFixed(1), busy: +busy.toFixed(3) };
}

function volume(): Float32Array {
  const d = new Float32Array(SIZE ** 3);
  let s = 17;
  for (let i = 0; i < d.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    d[i] = (s / 0x7fffffff) * 2 - 1;
  }
  return d;
}

async function main(): Promise<void> {
  const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
  const modelPath = path.join(MODEL_DIR, manifest.file);
  const model: LoadedModel = { manifest, modelPath, digest: await sha256File(modelPath) };
  const window = manifest.io.slidingWindow as SlidingWindow;
  const dims = [1, SIZE, SIZE, SIZE];
  const input = volume();

  const runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: 1 });
  await runtime.load(model);
  const worker = await measure(() => runVolumeModel(runtime, manifest.id, input.slice(), dims, window, 'argmax-channels'));
  const mainTiling = await measure(() => slidingWindowInference(input, dims, window, patchPredictorFor(runtime, manifest.id)));
  await runtime.close();

  // The contrast: the same tiling with onnxruntime on this thread (warmed up like the worker's session).
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  await session.run({ image: new ort.Tensor('float32', new Float32Array(32 ** 3), [1, 1, 32, 32, 32]) });
  const onMain = await measure(() =>
    slidingWindowInference(input, dims, window, async (batch, d) => {
      const out = (await session.run({ image: new ort.Tensor('float32', batch, d) })).logits as ort.Tensor;
      return { data: out.data as Float32Array, dims: out.dims };
    }),
  );
  const onMainWhole = await measure(() => session.run({ image: new ort.Tensor('float32', input, [1, ...dims]) }));
  await session.release();

  console.log(
    JSON.stringify({
      model: manifest.id,
      volume: `${SIZE}³`,
      window: `${window.roiSize.join('×')}, overlap ${window.overlap}, ${window.blend}, batch ${window.batchSize}`,
      infer_ms: worker.ms,
      p99_worker_ms: worker.p99,
      max_worker_ms: worker.max,
      main_busy_worker: worker.busy,
      infer_main_tiling_ms: mainTiling.ms,
      p99_main_tiling_ms: mainTiling.p99,
      main_busy_main_tiling: mainTiling.busy,
      infer_main_ms: onMain.ms,
      p99_main_ms: onMain.p99,
      max_main_ms: onMain.max,
      infer_main_whole_ms: onMainWhole.ms,
      max_main_whole_ms: onMainWhole.max,
      p99_ratio_main_over_worker: +(onMain.p99 / Math.max(worker.p99, 0.001)).toFixed(1),
      target_p99_worker_ms: 50,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
