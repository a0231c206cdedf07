import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../domain/errors';
import type { LoadedModel, SlidingWindow } from '../domain/manifest';
import { silentLogger, type Logger } from '../logging';
import type { ModelRuntime, TensorData } from '../ports/model-runtime';
import { warmupHint } from './warmup';
import type { InferenceDevice, Reduction, WorkerRequest, WorkerResponse } from './worker-protocol';

interface Pending {
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

function workerEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'inference-worker.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  // Running from TypeScript sources (tests): let the worker compile itself on the fly.
  return { file: path.join(__dirname, 'inference-worker.ts'), execArgv: ['--require', 'ts-node/register/transpile-only'] };
}

export interface WorkerPoolOptions {
  workers: number;
  intraOpThreads: number;
  /** Config inference.device; "cuda" falls back to CPU (one warning) when the CUDA execution provider is missing. */
  device?: InferenceDevice;
  /** Receives the CUDA fallback warning and warm-up debug lines; silent by default. */
  logger?: Logger;
}

/**
 * ModelRuntime on a pool of worker threads. Every worker holds a session per loaded model; a run goes to the
 * least busy worker. A worker that dies fails its pending runs (retryable) and is replaced.
 */
export class WorkerPoolRuntime implements ModelRuntime {
  private readonly slots: Slot[] = [];
  private readonly models = new Map<string, LoadedModel>();
  private nextId = 1;
  private closed = false;
  private fallbackWarned = false;
  private readonly log: Logger;

  constructor(private readonly options: WorkerPoolOptions) {
    this.log = options.logger ?? silentLogger;
    for (let i = 0; i < Math.max(1, options.workers); i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const entry = workerEntry();
    const worker = new Worker(entry.file, { execArgv: entry.execArgv });
    const slot: Slot = { worker, busy: 0, pending: new Map() };
    worker.on('message', (msg: WorkerResponse) => {
      const p = slot.pending.get(msg.id);
      if (!p) return;
      slot.pending.delete(msg.id);
      p.resolve(msg);
    });
    const failAll = (reason: string): void => {
      for (const p of slot.pending.values()) p.reject(new AppError('INFERENCE_FAILED', reason, { retryable: true }));
      slot.pending.clear();
    };
    worker.on('error', (err) => failAll(`inference worker crashed: ${err.message}`));
    worker.on('exit', (code) => {
      failAll(`inference worker exited with code ${code}`);
      if (this.closed) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) {
        const replacement = this.spawn();
        this.slots[i] = replacement;
        // Reload models into the replacement so later runs find their sessions.
        for (const m of this.models.values()) void this.loadInto(replacement, m, false).catch(() => undefined);
      }
    });
    return slot;
  }

  private request(slot: Slot, req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    return new Promise((resolve, reject) => {
      slot.pending.set(req.id, { resolve, reject });
      slot.worker.postMessage(req, transfer);
    });
  }

  private async loadInto(slot: Slot, model: LoadedModel, report: boolean): Promise<void> {
    const modelId = model.manifest.id;
    const res = await this.request(slot, {
      type: 'load',
      id: this.nextId++,
      modelId,
      modelPath: model.modelPath,
      inputName: model.manifest.io.input,
      outputName: model.manifest.io.output,
      intraOpThreads: this.options.intraOpThreads,
      device: this.options.device ?? 'cpu',
      warmupShape: warmupHint(model.manifest),
    });
    if (!res.ok) throw new AppError(res.error.code as ErrorCode, `model ${modelId}: ${res.error.message}`, { retryable: false });
    if (res.providerFallback !== undefined && !this.fallbackWarned) {
      this.fallbackWarned = true;
      this.log.warn(
        { requestedDevice: 'cuda', device: 'cpu', reason: res.providerFallback },
        'inference.device is "cuda" but the installed onnxruntime-node has no usable CUDA execution provider; running all models on CPU',
      );
    }
    if (!report || !res.warmup) return;
    const w = res.warmup;
    if (w.ran) this.log.debug({ modelId, shape: w.shape, ms: w.ms, provider: res.provider }, 'model warmed up on a zero tensor');
    else this.log.debug({ modelId, reason: w.reason }, 'model warm-up skipped');
  }

  /** Creates the model's session in every worker, each warmed up once on a zero tensor where the shape is known. */
  async load(model: LoadedModel): Promise<void> {
    await Promise.all(this.slots.map((s, i) => this.loadInto(s, model, i === 0)));
    this.models.set(model.manifest.id, model);
  }

  async run(modelId: string, input: TensorData, reduce: Reduction = 'none'): Promise<TensorData> {
    return this.dispatch(modelId, input, (id) => ({ type: 'run', id, modelId, input, reduce }));
  }

  /**
   * Sliding-window inference tiled inside one worker (decision 0006): the volume [C, D, H, W] crosses once, and
   * the blended logits [K, D, H, W] (reduce "none") or the uint8 labels [D, H, W] ("argmax-channels") come back.
   * The input buffer is transferred: the caller's array is detached afterwards.
   */
  async runSlidingWindow(modelId: string, input: TensorData, window: SlidingWindow, reduce: Reduction = 'none'): Promise<TensorData> {
    return this.dispatch(modelId, input, (id) => ({ type: 'run-window', id, modelId, input, window, reduce }));
  }

  private async dispatch(modelId: string, input: TensorData, request: (id: number) => WorkerRequest): Promise<TensorData> {
    if (!this.models.has(modelId)) throw new AppError('MODEL_INVALID', `model ${modelId} is not loaded`);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    try {
      const res = await this.request(slot, request(this.nextId++), [input.data.buffer as ArrayBuffer]);
      if (!res.ok) throw new AppError(res.error.code as ErrorCode, `model ${modelId}: ${res.error.message}`);
      if (!res.output) throw new AppError('INFERENCE_FAILED', `model ${modelId} returned no output`);
      return res.output;
    } finally {
      slot.busy--;
    }
  }

  loadedModelIds(): string[] {
    return [...this.models.keys()];
  }

  /**
   * Closes every worker gracefully: each finishes its runs in flight, releases its sessions and ends by itself.
   * worker.terminate() during a native onnxruntime call aborts the whole process (Napi::Error → std::terminate), so
   * it is only the last resort for a worker that has not ended within graceMs.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((slot) => this.closeSlot(slot, graceMs)));
  }

  private async closeSlot(slot: Slot, graceMs: number): Promise<void> {
    if (slot.worker.threadId < 0) return; // already ended
    const ended = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const graceful = this.request(slot, { type: 'close', id: this.nextId++ })
      .catch(() => undefined)
      .then(() => ended);
    const outcome = await Promise.race([graceful, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.warn({ graceMs }, 'inference worker did not end after close; terminating it');
      await slot.worker.terminate();
    }
  }
}
