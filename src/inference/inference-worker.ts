import { existsSync } from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { TensorData } from '../ports/model-runtime';
import { argmaxChannels } from './argmax';
import { slidingWindowInference } from './sliding-window';
import { warmupShape } from './warmup';
import type { InferenceDevice, WarmupReport, WorkerRequest, WorkerResponse } from './worker-protocol';

/**
 * One inference worker thread. Holds one session per model, created once and reused (re-creating sessions leaks
 * native memory), so the main thread's event loop never blocks on onnxruntime's synchronous compute.
 */
interface Loaded {
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
}

const sessions = new Map<string, Loaded>();
/** Set after the first failed CUDA attempt, so later models go straight to CPU without native error noise. */
let cudaFailure: string | undefined;

function reply(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(msg, transfer);
}

/**
 * Why CUDA cannot work, when that is visible without trying: onnxruntime-node loads its CUDA provider from a
 * library beside its native binding, which only its install script with the CUDA option puts there. Checking first
 * avoids onnxruntime's own multi-line native error output for the expected case.
 */
function missingCudaProvider(): string | undefined {
  const binding = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(path.join(binding, lib)) ? undefined : `${lib} is not installed beside onnxruntime-node's binding (${binding})`;
}

async function createSession(
  modelPath: string,
  intraOpThreads: number,
  device: InferenceDevice,
): Promise<{ session: ort.InferenceSession; provider: InferenceDevice; fallback?: string }> {
  const base: ort.InferenceSession.SessionOptions = { intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  if (device === 'cuda' && cudaFailure === undefined) cudaFailure = missingCudaProvider();
  if (device === 'cuda' && cudaFailure === undefined) {
    try {
      // Severity 4 (fatal only): a missing provider library is expected here and reported once by the pool.
      const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cuda', 'cpu'], logSeverityLevel: 4 });
      return { session, provider: 'cuda' };
    } catch (err) {
      cudaFailure = err instanceof Error ? err.message : String(err);
    }
  }
  const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
  return device === 'cuda' ? { session, provider: 'cpu', fallback: cudaFailure } : { session, provider: 'cpu' };
}

async function warmUp(loaded: Loaded, hint: readonly number[] | undefined): Promise<WarmupReport> {
  const meta = loaded.session.inputMetadata.find((m) => m.name === loaded.inputName);
  if (!meta || !meta.isTensor) return { ran: false, reason: 'the input is not a tensor' };
  if (meta.type !== 'float32') return { ran: false, reason: `the input type is ${meta.type}, not float32` };
  const shape = warmupShape(meta.shape, hint);
  if (typeof shape === 'string') return { ran: false, reason: shape };
  const t0 = performance.now();
  const tensor = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const results = await loaded.session.run({ [loaded.inputName]: tensor });
  for (const r of Object.values(results)) r.dispose?.();
  return { ran: true, shape, ms: Math.round(performance.now() - t0) };
}

async function runModel(loaded: Loaded, input: Pick<TensorData, 'type' | 'data'>, dims: readonly number[]): Promise<ort.Tensor> {
  const results = await loaded.session.run({ [loaded.inputName]: new ort.Tensor(input.type, input.data, dims) });
  const out = results[loaded.outputName];
  if (!out) throw new Error(`output ${loaded.outputName} missing from results`);
  return out;
}

function reduced(data: Float32Array, dims: number[], reduce: 'none' | 'argmax-channels'): TensorData {
  if (reduce === 'none') return { type: 'float32', dims, data };
  const r = argmaxChannels(data, dims);
  return { type: 'uint8', dims: r.dims, data: r.data };
}

async function handle(req: Exclude<WorkerRequest, { type: 'close' }>): Promise<void> {
  try {
    if (req.type === 'load') {
      const existing = sessions.get(req.modelId);
      if (existing) {
        reply({ id: req.id, ok: true, inputNames: [...existing.session.inputNames], outputNames: [...existing.session.outputNames] });
        return;
      }
      const { session, provider, fallback } = await createSession(req.modelPath, req.intraOpThreads, req.device ?? 'cpu');
      const inputNames = [...session.inputNames];
      const outputNames = [...session.outputNames];
      if (!inputNames.includes(req.inputName) || !outputNames.includes(req.outputName)) {
        await session.release();
        reply({
          id: req.id,
          ok: false,
          error: {
            code: 'MODEL_INVALID',
            message: `model declares input "${req.inputName}"/output "${req.outputName}" but the ONNX graph has inputs [${inputNames.join(', ')}] and outputs [${outputNames.join(', ')}]`,
          },
        });
        return;
      }
      const loaded = { session, inputName: req.inputName, outputName: req.outputName };
      let warmup: WarmupReport;
      try {
        warmup = await warmUp(loaded, req.warmupShape);
      } catch (err) {
        warmup = { ran: false, reason: `the warm-up run failed: ${err instanceof Error ? err.message : String(err)}` };
      }
      sessions.set(req.modelId, loaded);
      reply({ id: req.id, ok: true, inputNames, outputNames, provider, providerFallback: fallback, warmup });
      return;
    }
    if (req.type === 'unload') {
      const s = sessions.get(req.modelId);
      sessions.delete(req.modelId);
      if (s) await s.session.release();
      reply({ id: req.id, ok: true });
      return;
    }
    const loaded = sessions.get(req.modelId);
    if (!loaded) {
      reply({ id: req.id, ok: false, error: { code: 'MODEL_INVALID', message: `model ${req.modelId} is not loaded in this worker` } });
      return;
    }
    if (req.type === 'run-window') {
      if (req.input.type !== 'float32') throw new Error(`sliding window needs a float32 input, got ${req.input.type}`);
      const result = await slidingWindowInference(req.input.data as Float32Array, req.input.dims, req.window, async (batch, dims) => {
        const out = await runModel(loaded, { type: 'float32', data: batch }, dims);
        if (out.type !== 'float32') throw new Error(`sliding window needs float32 model outputs, got ${out.type}`);
        return { data: out.data as Float32Array, dims: out.dims };
      });
      // argmax over [1, K, D, H, W] gives labels [1, D, H, W]; callers get [D, H, W].
      const output = req.reduce === 'none' ? reduced(result.data, result.dims, 'none') : reduced(result.data, [1, ...result.dims], req.reduce);
      if (output.type === 'uint8') output.dims = output.dims.slice(1);
      reply({ id: req.id, ok: true, output }, [output.data.buffer as ArrayBuffer]);
      return;
    }
    const out = await runModel(loaded, req.input, req.input.dims);
    let output: TensorData;
    if (req.reduce === 'argmax-channels') {
      if (out.type !== 'float32') throw new Error(`argmax needs float32 logits, got ${out.type}`);
      output = reduced(out.data as Float32Array, [...out.dims], 'argmax-channels');
    } else {
      output = { type: out.type as TensorData['type'], dims: [...out.dims], data: out.data as TensorData['data'] };
    }
    reply({ id: req.id, ok: true, output }, [output.data.buffer as ArrayBuffer]);
  } catch (err) {
    reply({ id: req.id, ok: false, error: { code: 'INFERENCE_FAILED', message: err instanceof Error ? err.message : String(err) } });
  }
}

/** Requests being handled; close waits for them, because native work ending in a torn-down thread aborts the process. */
let inFlight = 0;
const whenIdle: (() => void)[] = [];

async function close(id: number): Promise<void> {
  if (inFlight > 0) await new Promise<void>((resolve) => whenIdle.push(resolve));
  for (const loaded of sessions.values()) await loaded.session.release().catch(() => undefined);
  sessions.clear();
  reply({ id, ok: true });
  // Nothing keeps the thread alive once its port is closed: it ends by itself, with no native call pending.
  parentPort?.close();
}

parentPort?.on('message', (req: WorkerRequest) => {
  if (req.type === 'close') {
    void close(req.id);
    return;
  }
  inFlight++;
  void handle(req).finally(() => {
    inFlight--;
    if (inFlight === 0) for (const resolve of whenIdle.splice(0)) resolve();
  });
});
