import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadModels } from './registry';
import type { LoadedModel } from '../domain/manifest';

const MODELS_DIR = path.resolve(__dirname, '../../models');
/** Models that are not loaded by default (select them with `--models models/optional`). */
const OPTIONAL_MODELS_DIR = path.join(MODELS_DIR, 'optional');
const PYTHON = '/usr/bin/python3';
const REFERENCE_SCRIPT = path.join(MODELS_DIR, 'training', 'torch_reference.py');

function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 30000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs one ONNX inference in a worker thread. Inside jest's sandbox onnxruntime-node cannot build output tensors
 * (the addon's Float32Array is another realm's), and the service runs sessions in workers anyway.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
(async () => {
  const session = await ort.InferenceSession.create(workerData.modelPath);
  try {
    const feeds = { [workerData.input]: new ort.Tensor('float32', workerData.data, workerData.dims) };
    const out = (await session.run(feeds))[workerData.output];
    parentPort.postMessage({ dims: out.dims, data: out.data });
  } finally {
    await session.release();
  }
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

function runOnnx(model: LoadedModel, data: Float32Array, dims: number[]): Promise<{ dims: number[]; data: Float32Array }> {
  const workerData = {
    ortPath: require.resolve('onnxruntime-node'),
    modelPath: model.modelPath,
    input: model.manifest.io.input,
    output: model.manifest.io.output,
    data,
    dims,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.once('message', (msg: { error?: string; dims: number[]; data: Float32Array }) => {
      void worker.terminate();
      if (msg.error) reject(new Error(msg.error));
      else resolve(msg);
    });
    worker.once('error', reject);
  });
}

/** A deterministic, image-like input: smooth waves plus a bright disc, roughly zero-mean like z-scored data. */
function knownInput(dims: number[]): Float32Array {
  const [n = 1, c = 1, h = 1, w = 1] = dims;
  const out = new Float32Array(n * c * h * w);
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const r = Math.hypot(y - h / 2, x - w / 2 - b * 5) / (h / 3);
          out[i++] = (r < 1 ? 1.5 : -0.8) + 0.3 * Math.sin(x * 0.21 + b) * Math.cos(y * 0.13);
        }
  return out;
}

function inputDims(model: LoadedModel): number[] {
  const [h, w] = model.manifest.preprocessing.inputSize ?? [64, 64];
  const channels = model.manifest.io.layout === 'slice-stack' ? (model.manifest.io.stackSlices ?? 1) : 1;
  // Two slices for the 2D model so that the dynamic batch axis is exercised.
  return [model.manifest.io.layout === 'slices' ? 2 : 1, channels, h, w];
}

function expectedOutputDims(model: LoadedModel, input: number[]): number[] {
  const m = model.manifest;
  if (m.task === 'classification') return [input[0] ?? 1, m.classes?.length ?? 0];
  return [input[0] ?? 1, (m.segments?.length ?? 0) + 1, input[2] ?? 0, input[3] ?? 0];
}

describe('committed models', () => {
  let models: LoadedModel[] = [];
  let optionalModels: LoadedModel[] = [];
  const hasTorch = torchAvailable();

  beforeAll(async () => {
    const result = await loadModels(MODELS_DIR);
    expect(result.errors).toEqual([]);
    models = result.models;
    const optional = await loadModels(OPTIONAL_MODELS_DIR);
    expect(optional.errors).toEqual([]);
    optionalModels = optional.models;
  });

  it('when the models folder is loaded, then both reference models are there', () => {
    expect(models.map((m) => m.manifest.id).sort()).toEqual(['brain-mask-2d', 'mr-plane-classifier']);
  });

  it('when models/optional is loaded, then it holds the lobe parcellation model, which the default folder does not load', () => {
    expect(optionalModels.map((m) => m.manifest.id)).toEqual(['brain-lobes-2d']);
  });

  it.each(['brain-mask-2d', 'mr-plane-classifier', 'brain-lobes-2d'])(
    'when %s runs in onnxruntime on a known input, then the output shape matches the manifest and PyTorch agrees',
    async (id) => {
      const model = [...models, ...optionalModels].find((m) => m.manifest.id === id);
      if (!model) throw new Error(`model ${id} not loaded`);
      const dims = inputDims(model);
      const input = knownInput(dims);
      const output = await runOnnx(model, input, dims);
      expect(output.dims).toEqual(expectedOutputDims(model, dims));
      const onnxValues = output.data;
      expect(onnxValues.every(Number.isFinite)).toBe(true);

      if (!hasTorch) return; // PyTorch comparison only where Debian's python3-torch is installed
      const dir = mkdtempSync(path.join(tmpdir(), 'model-ref-'));
      try {
        const inFile = path.join(dir, 'in.f32');
        const outFile = path.join(dir, 'out.f32');
        writeFileSync(inFile, Buffer.from(input.buffer));
        const shape = execFileSync(PYTHON, [REFERENCE_SCRIPT, id, inFile, dims.join(','), outFile], {
          encoding: 'utf8',
          timeout: 60000,
        }).trim();
        expect(shape).toBe(output.dims.join(','));
        const buf = readFileSync(outFile);
        const torchValues = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        expect(torchValues.length).toBe(onnxValues.length);
        let maxAbs = 0;
        for (let i = 0; i < torchValues.length; i++) maxAbs = Math.max(maxAbs, Math.abs((torchValues[i] ?? NaN) - (onnxValues[i] ?? NaN)));
        expect(maxAbs).toBeLessThanOrEqual(1e-4);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
