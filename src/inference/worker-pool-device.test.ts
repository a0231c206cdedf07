import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedModel, ModelManifest } from '../domain/manifest';
import { createLogger } from '../logging';
import { sha256File } from '../models/registry';
import { WorkerPoolRuntime } from './worker-pool';

const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures', 'models');

async function fixtureModel(id: string): Promise<LoadedModel> {
  const dir = path.join(FIXTURES, id);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const modelPath = path.join(dir, manifest.file);
  return { manifest, modelPath, digest: await sha256File(modelPath) };
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capture(): { lines: LogLine[]; logger: ReturnType<typeof createLogger> } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { lines, logger };
}

const WARN = 40;
const DEBUG = 20;

// This machine's onnxruntime-node has no CUDA execution provider (its install script that fetches one is disabled),
// so "cuda" exercises the fallback path for real.
describe('WorkerPoolRuntime device and warm-up', () => {
  it('when cuda is asked and onnxruntime has no CUDA provider, then models run on CPU after exactly one warning', async () => {
    const { lines, logger } = capture();
    const runtime = new WorkerPoolRuntime({ workers: 2, intraOpThreads: 1, device: 'cuda', logger });
    try {
      await runtime.load(await fixtureModel('pointwise3d'));
      await runtime.load(await fixtureModel('tiny-unet3d'));
      const warnings = lines.filter((l) => l.level === WARN);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toMatch(/"cuda" but the installed onnxruntime-node has no usable CUDA execution provider; running all models on CPU/);
      expect(warnings[0]?.reason).toEqual(expect.stringMatching(/onnxruntime_providers_cuda|CUDA|shared library/));
      const out = await runtime.run('pointwise3d', { type: 'float32', dims: [1, 1, 2, 2, 2], data: new Float32Array(8).fill(1) });
      expect(out.dims).toEqual([1, 2, 2, 2, 2]);
    } finally {
      await runtime.close();
    }
  });

  it('when cpu is asked, then no warning is logged and each model is warmed up once on its roi-sized zero tensor', async () => {
    const { lines, logger } = capture();
    const runtime = new WorkerPoolRuntime({ workers: 2, intraOpThreads: 1, logger });
    try {
      await runtime.load(await fixtureModel('tiny-unet3d'));
      expect(lines.filter((l) => l.level >= WARN)).toEqual([]);
      const warm = lines.filter((l) => l.level === DEBUG && l.msg === 'model warmed up on a zero tensor');
      expect(warm).toHaveLength(1);
      expect(warm[0]).toMatchObject({ modelId: 'tiny-unet3d', shape: [1, 1, 32, 32, 32], provider: 'cpu' });
    } finally {
      await runtime.close();
    }
  });

  it('when a 3D model has symbolic spatial axes and no roi or crop size, then warm-up is skipped with a debug line saying why', async () => {
    const { lines, logger } = capture();
    const runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: 1, logger });
    const model = await fixtureModel('tiny-unet3d');
    const io = { ...model.manifest.io };
    delete io.slidingWindow;
    try {
      await runtime.load({ ...model, manifest: { ...model.manifest, io } });
      const skipped = lines.filter((l) => l.msg === 'model warm-up skipped');
      expect(skipped).toHaveLength(1);
      expect(skipped[0]).toMatchObject({ level: DEBUG, modelId: 'tiny-unet3d', reason: expect.stringMatching(/dimension 2 \("depth"\) is symbolic/) });
    } finally {
      await runtime.close();
    }
  });
});
