import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { TensorData } from '../ports/model-runtime';
import { argmaxChannels } from './argmax';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

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

function reply(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(msg, transfer);
}

async function handle(req: WorkerRequest): Promise<void> {
  try {
    if (req.type === 'load') {
      const existing = sessions.get(req.modelId);
      if (existing) {
        reply({ id: req.id, ok: true, inputNames: [...existing.session.inputNames], outputNames: [...existing.session.outputNames] });
        return;
      }
      const session = await ort.InferenceSession.create(req.modelPath, {
        intraOpNumThreads: req.intraOpThreads,
        interOpNumThreads: 1,
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
      });
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
      sessions.set(req.modelId, { session, inputName: req.inputName, outputName: req.outputName });
      reply({ id: req.id, ok: true, inputNames, outputNames });
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
    const tensor = new ort.Tensor(req.input.type, req.input.data, req.input.dims);
    const results = await loaded.session.run({ [loaded.inputName]: tensor });
    const out = results[loaded.outputName];
    if (!out) throw new Error(`output ${loaded.outputName} missing from results`);
    let output: TensorData;
    if (req.reduce === 'argmax-channels') {
      if (out.type !== 'float32') throw new Error(`argmax needs float32 logits, got ${out.type}`);
      const r = argmaxChannels(out.data as Float32Array, out.dims);
      output = { type: 'uint8', dims: r.dims, data: r.data };
    } else {
      output = { type: out.type as TensorData['type'], dims: [...out.dims], data: out.data as TensorData['data'] };
    }
    for (const t of Object.values(results)) t.dispose?.();
    reply({ id: req.id, ok: true, output }, [output.data.buffer as ArrayBuffer]);
  } catch (err) {
    reply({ id: req.id, ok: false, error: { code: 'INFERENCE_FAILED', message: err instanceof Error ? err.message : String(err) } });
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  void handle(req);
});
