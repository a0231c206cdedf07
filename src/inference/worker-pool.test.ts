import path from 'node:path';
import { loadModels } from '../models/registry';
import type { LoadedModel } from '../domain/manifest';
import { argmaxChannels } from './argmax';
import { WorkerPoolRuntime } from './worker-pool';
import { lcg } from '../../test/support/random';

const MODELS = path.join(__dirname, '..', '..', 'models');

describe('WorkerPoolRuntime', () => {
  let model: LoadedModel;
  let runtime: WorkerPoolRuntime;

  beforeAll(async () => {
    const { models } = await loadModels(MODELS);
    const m = models.find((x) => x.manifest.id === 'brain-mask-2d');
    if (!m) throw new Error('brain-mask-2d model missing');
    model = m;
    runtime = new WorkerPoolRuntime({ workers: 2, intraOpThreads: 1 });
    await runtime.load(model);
  });

  afterAll(async () => {
    await runtime.close();
  });

  const input = (seed: number): Float32Array => lcg(2 * 128 * 128, seed);

  // onnxruntime cannot run on jest's main thread (its addon's typed arrays belong to another realm), so the
  // reference is the worker's raw logits reduced here; the check is that argmax in the worker changes nothing.
  it('when a batch runs with argmax in the worker, then labels equal argmax of the raw logits', async () => {
    const data = input(7);
    const logits = await runtime.run('brain-mask-2d', { type: 'float32', dims: [2, 1, 128, 128], data: data.slice() });
    expect(logits.dims).toEqual([2, 2, 128, 128]);
    const reference = argmaxChannels(logits.data as Float32Array, logits.dims);
    const out = await runtime.run('brain-mask-2d', { type: 'float32', dims: [2, 1, 128, 128], data }, 'argmax-channels');
    expect(out.type).toBe('uint8');
    expect(out.dims).toEqual([2, 128, 128]);
    expect(reference.data.some((v) => v === 1) && reference.data.some((v) => v === 0)).toBe(true);
    expect(Buffer.from(out.data.buffer).equals(Buffer.from(reference.data.buffer))).toBe(true);
  });

  it('when several runs are in flight, then each gets its own result', async () => {
    const runs = [1, 2, 3, 4].map((seed) => runtime.run('brain-mask-2d', { type: 'float32', dims: [2, 1, 128, 128], data: input(seed) }));
    const outs = await Promise.all(runs);
    expect(outs.map((o) => o.dims)).toEqual(Array(4).fill([2, 2, 128, 128]));
    const again = await runtime.run('brain-mask-2d', { type: 'float32', dims: [2, 1, 128, 128], data: input(3) });
    expect(Buffer.from(again.data.buffer).equals(Buffer.from((outs[2] as { data: Float32Array }).data.buffer))).toBe(true);
  });

  it('when the manifest names an input the graph lacks, then load fails with MODEL_INVALID naming both', async () => {
    const bad: LoadedModel = { ...model, manifest: { ...model.manifest, id: 'bad', io: { ...model.manifest.io, input: 'nope' } } };
    await expect(runtime.load(bad)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('"nope"') });
  });

  it('when a model is not loaded, then run rejects clearly', async () => {
    await expect(runtime.run('unknown', { type: 'float32', dims: [1], data: new Float32Array(1) })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});

describe('WorkerPoolRuntime.close', () => {
  it('when runs are in flight, then close lets them finish and every worker ends by itself (no terminate)', async () => {
    const { models } = await loadModels(MODELS);
    const model = models.find((x) => x.manifest.id === 'brain-mask-2d');
    if (!model) throw new Error('brain-mask-2d model missing');
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg), info: () => undefined, debug: () => undefined, error: () => undefined, child: () => logger };
    const runtime = new WorkerPoolRuntime({ workers: 2, intraOpThreads: 1, logger: logger as never });
    await runtime.load(model);
    const runs = [1, 2, 3].map((seed) => runtime.run('brain-mask-2d', { type: 'float32', dims: [4, 1, 128, 128], data: lcg(4 * 128 * 128, seed) }));
    const closing = runtime.close(20_000);
    const outs = await Promise.all(runs);
    await closing;
    expect(outs.map((o) => o.dims)).toEqual(Array(3).fill([4, 2, 128, 128]));
    expect(warnings).toEqual([]); // the terminate() fallback was never needed
  }, 60_000);
});
