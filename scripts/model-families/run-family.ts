/**
 * Runs one seed model family through the plugin's own inference path: the registry loads its manifest, the pipeline's
 * infer stage (classifyVolume, segmentVolume or segmentVolume3d) runs on a synthetic series with WorkerPoolRuntime, and
 * a recording wrapper keeps the tensor the stage fed the model and the model's raw output, for the PyTorch comparison.
 */
import type { Job } from '../../src/domain/job';
import type { LoadedModel, SlidingWindow } from '../../src/domain/manifest';
import { argmaxChannels } from '../../src/inference/argmax';
import type { WorkerPoolRuntime } from '../../src/inference/worker-pool';
import type { Reduction } from '../../src/inference/worker-protocol';
import { silentLogger } from '../../src/logging';
import type { JobContext, PipelineDeps, PipelineRuntime } from '../../src/pipeline/context';
import { classifyVolume } from '../../src/pipeline/stages/infer-classification';
import { segmentVolume } from '../../src/pipeline/stages/infer-segmentation';
import { segmentVolume3d } from '../../src/pipeline/stages/infer-volume';
import type { TensorData } from '../../src/ports/model-runtime';
import type { Volume } from '../../src/domain/volume';

/** One model call as the stage made it. */
export interface RecordedCall {
  kind: 'run' | 'window';
  /** The reduction the stage asked for (the wrapper asks the worker for the raw output and reduces itself). */
  reduce: Reduction;
  window?: SlidingWindow;
  input: TensorData;
  /** Raw model output (blended logits for a sliding-window call). */
  output: TensorData;
}

function copyTensor(t: TensorData): TensorData {
  return { type: t.type, dims: [...t.dims], data: t.data.slice() };
}

function argmaxOf(out: TensorData, dropBatch: boolean): TensorData {
  const r = argmaxChannels(out.data as Float32Array, dropBatch ? [1, ...out.dims] : out.dims);
  return { type: 'uint8', dims: dropBatch ? r.dims.slice(1) : r.dims, data: r.data };
}

/**
 * A PipelineRuntime in front of WorkerPoolRuntime that records every call. It always asks the worker for the raw
 * output and applies the same argmaxChannels the worker would when the stage wants labels, so the stage gets what it
 * asked for and the raw output is kept.
 */
export class RecordingRuntime implements PipelineRuntime {
  readonly calls: RecordedCall[] = [];

  constructor(private readonly inner: WorkerPoolRuntime) {}

  load(model: LoadedModel): Promise<void> {
    return this.inner.load(model);
  }

  async run(modelId: string, input: TensorData, reduce: Reduction = 'none'): Promise<TensorData> {
    const kept = copyTensor(input);
    const out = await this.inner.run(modelId, input, 'none');
    this.calls.push({ kind: 'run', reduce, input: kept, output: copyTensor(out) });
    return reduce === 'argmax-channels' ? argmaxOf(out, false) : out;
  }

  async runSlidingWindow(modelId: string, input: TensorData, window: SlidingWindow, reduce: Reduction = 'none'): Promise<TensorData> {
    const kept = copyTensor(input);
    const out = await this.inner.runSlidingWindow(modelId, input, window, 'none');
    this.calls.push({ kind: 'window', reduce, window, input: kept, output: copyTensor(out) });
    return reduce === 'argmax-channels' ? argmaxOf(out, true) : out;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Throws on any property the stages are not expected to read, so a stage that starts needing more fails loudly. */
function strict<T extends object>(what: string, given: Partial<T>): T {
  return new Proxy(given, {
    get(target, prop) {
      if (prop in target) return target[prop as keyof T];
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      throw new Error(`the model-families driver gives the infer stage no ${what}.${prop}`);
    },
  }) as T;
}

/** The JobContext the infer stages read: the model and deps.runtime (everything else throws). */
export function inferContext(model: LoadedModel, runtime: PipelineRuntime): JobContext {
  return {
    job: strict<Job>('job', { id: `model-families-${model.manifest.id}`, modelId: model.manifest.id }),
    model,
    deps: strict<PipelineDeps>('deps', { runtime, logger: silentLogger }),
    log: silentLogger,
    enter: () => Promise.resolve(),
  };
}

/** The pipeline's infer stage for this manifest, as run-pipeline picks it. */
export async function runInferStage(ctx: JobContext, volume: Volume): Promise<void> {
  const { task, io } = ctx.model.manifest;
  if (task === 'classification') await classifyVolume(ctx, volume);
  else if (io.layout === 'volume') await segmentVolume3d(ctx, volume);
  else await segmentVolume(ctx, volume);
}

/** Peak resident set size of this process while `work` runs, sampled every few milliseconds. */
export async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

export interface FamilyMeasurement {
  call: RecordedCall;
  /** Wall-clock ms of each timed replay of the stage's model call (worker round trip included). */
  latenciesMs: number[];
  medianMs: number;
  /** Process RSS just before the model was loaded, and the peak during load, the stage and the timed runs. */
  rssBeforeBytes: number;
  rssPeakBytes: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Loads `model` into `pool`, runs the infer stage once on `volume` (also the warm-up), then replays the stage's model
 * call `runs` times for latency. Returns the recorded call, timings and memory.
 */
export async function measureFamily(pool: WorkerPoolRuntime, model: LoadedModel, volume: Volume, runs: number): Promise<FamilyMeasurement> {
  const runtime = new RecordingRuntime(pool);
  const rssBeforeBytes = process.memoryUsage.rss();
  const id = model.manifest.id;
  const { result, peakBytes } = await peakRss(async () => {
    await runtime.load(model);
    await runInferStage(inferContext(model, runtime), volume);
    const call = runtime.calls[0];
    if (!call || runtime.calls.length !== 1) throw new Error(`${id}: the stage made ${runtime.calls.length} model calls, expected exactly one`);
    const latenciesMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const input = copyTensor(call.input);
      const t0 = performance.now();
      if (call.kind === 'window' && call.window) await pool.runSlidingWindow(id, input, call.window, call.reduce);
      else await pool.run(id, input, call.reduce);
      latenciesMs.push(performance.now() - t0);
    }
    return { call, latenciesMs };
  });
  return { ...result, medianMs: median(result.latenciesMs), rssBeforeBytes, rssPeakBytes: peakBytes };
}
