import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedModel, ModelManifest, SlidingWindow } from '../domain/manifest';
import { loadModels, sha256File } from '../models/registry';
import { argmaxChannels } from './argmax';
import { runVolumeModel } from './volume';
import { WorkerPoolRuntime } from './worker-pool';
import { lcg } from '../../test/support/random';

const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures', 'models');

async function fixtureModel(id: string): Promise<LoadedModel> {
  const dir = path.join(FIXTURES, id);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const modelPath = path.join(dir, manifest.file);
  return { manifest, modelPath, digest: await sha256File(modelPath) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, mask?: (i: number) => boolean): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (!mask || mask(i)) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

const DIMS = [1, 40, 48, 36];
const VOXELS = 40 * 48 * 36;
const ROI: [number, number, number] = [32, 32, 32];

/**
 * Naive sliding window written independently of sliding-window.ts: materialises the padded volume, runs one patch
 * per call, and accumulates in float64 with the Gaussian computed per voxel from its 3D distance to the centre.
 */
async function naiveSlidingWindow(
  runtime: WorkerPoolRuntime,
  modelId: string,
  vol: Float32Array,
  size: [number, number, number],
  roi: [number, number, number],
  overlap: number,
  gaussian: boolean,
): Promise<Float64Array> {
  const padded = size.map((s, a) => Math.max(s, roi[a] as number)) as [number, number, number];
  const before = size.map((s, a) => Math.floor(((padded[a] as number) - s) / 2));
  const starts = padded.map((p, a) => {
    const r = roi[a] as number;
    const step = r === p ? r : Math.max(1, Math.floor(r * (1 - overlap)));
    const list: number[] = [];
    for (let s = 0; ; s += step) {
      list.push(Math.min(s, p - r));
      if (s + r >= p) break;
    }
    return list;
  });
  const [pd, ph, pw] = padded;
  const [rd, rh, rw] = roi;
  const big = new Float32Array(pd * ph * pw);
  for (let z = 0; z < size[0]; z++)
    for (let y = 0; y < size[1]; y++)
      for (let x = 0; x < size[2]; x++)
        big[((z + (before[0] as number)) * ph + y + (before[1] as number)) * pw + x + (before[2] as number)] = vol[(z * size[1] + y) * size[2] + x] as number;
  const weight = (z: number, y: number, x: number): number => {
    if (!gaussian) return 1;
    const d2 = [z - (rd - 1) / 2, y - (rh - 1) / 2, x - (rw - 1) / 2].map((d, a) => (d * d) / (2 * (0.125 * (roi[a] as number)) ** 2));
    const peak = [rd, rh, rw].map((r) => (r % 2 ? 0 : 0.25 / (2 * (0.125 * r) ** 2))).reduce((p, q) => p + q, 0);
    return Math.max(Math.exp(-(d2.reduce((p, q) => p + q, 0) - peak)), 1e-3);
  };
  let acc: Float64Array | undefined;
  const wsum = new Float64Array(pd * ph * pw);
  let k = 0;
  for (const sz of starts[0] as number[])
    for (const sy of starts[1] as number[])
      for (const sx of starts[2] as number[]) {
        const patch = new Float32Array(rd * rh * rw);
        for (let z = 0; z < rd; z++) for (let y = 0; y < rh; y++) for (let x = 0; x < rw; x++) patch[(z * rh + y) * rw + x] = big[((sz + z) * ph + sy + y) * pw + sx + x] as number;
        const out = await runtime.run(modelId, { type: 'float32', dims: [1, 1, rd, rh, rw], data: patch });
        k = out.dims[1] as number;
        acc ??= new Float64Array(k * pd * ph * pw);
        for (let z = 0; z < rd; z++)
          for (let y = 0; y < rh; y++)
            for (let x = 0; x < rw; x++) {
              const w = weight(z, y, x);
              const v = ((sz + z) * ph + sy + y) * pw + sx + x;
              wsum[v] = (wsum[v] as number) + w;
              for (let c = 0; c < k; c++) acc[c * pd * ph * pw + v] = (acc[c * pd * ph * pw + v] as number) + w * ((out.data as Float32Array)[((c * rd + z) * rh + y) * rw + x] as number);
            }
      }
  if (!acc) throw new Error('no patches');
  const result = new Float64Array(k * size[0] * size[1] * size[2]);
  for (let c = 0; c < k; c++)
    for (let z = 0; z < size[0]; z++)
      for (let y = 0; y < size[1]; y++)
        for (let x = 0; x < size[2]; x++) {
          const v = ((z + (before[0] as number)) * ph + y + (before[1] as number)) * pw + x + (before[2] as number);
          result[((c * size[0] + z) * size[1] + y) * size[2] + x] = (acc[c * pd * ph * pw + v] as number) / (wsum[v] as number);
        }
  return result;
}

describe('3D inference with sliding windows (pointwise3d, tiny-unet3d)', () => {
  let runtime: WorkerPoolRuntime;
  let input: Float32Array;
  const full = new Map<string, Float32Array>();

  beforeAll(async () => {
    runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: 1 });
    for (const id of ['pointwise3d', 'tiny-unet3d']) await runtime.load(await fixtureModel(id));
    input = lcg(VOXELS, 11);
    for (const id of ['pointwise3d', 'tiny-unet3d']) {
      const out = await runVolumeModel(runtime, id, input.slice(), DIMS);
      if (out.kind !== 'logits') throw new Error('expected logits');
      expect(out.dims).toEqual([2, 40, 48, 36]);
      full.set(id, out.data);
    }
  });

  afterAll(async () => {
    await runtime.close();
  });

  const window = (blend: SlidingWindow['blend'], roiSize = ROI): SlidingWindow => ({ roiSize, overlap: 0.25, blend, batchSize: 3 });

  it('when the fixture manifests are read, then they pass the registry, their sha256 matches and tiny-unet3d is under 200 kB', async () => {
    for (const id of ['pointwise3d', 'tiny-unet3d']) {
      const m = await fixtureModel(id);
      expect(m.digest).toBe(m.manifest.sha256);
      expect(m.manifest.io).toMatchObject({ layout: 'volume', outputKind: 'logits', slidingWindow: { roiSize: [32, 32, 32] } });
    }
    expect(readFileSync(path.join(FIXTURES, 'tiny-unet3d', 'model.onnx')).length).toBeLessThan(200_000);
    const registry = await loadModels(FIXTURES);
    expect(registry.errors).toEqual([]);
    expect(registry.models.map((m) => m.manifest.id)).toEqual(['pointwise3d', 'tiny-unet3d']);
  });

  it('when tiny-unet3d runs in onnxruntime, then it computes what the PyTorch network computed', async () => {
    const read = (f: string): Float32Array => new Float32Array(Uint8Array.prototype.slice.call(readFileSync(path.join(FIXTURES, 'tiny-unet3d', f))).buffer);
    const out = await runVolumeModel(runtime, 'tiny-unet3d', read('reference-input.f32'), [1, 12, 16, 20]);
    const ref = read('reference-logits.f32');
    expect(out.dims).toEqual([2, 12, 16, 20]);
    expect(maxAbsDiff(out.data, ref)).toBeLessThan(1e-4);
  });

  it.each(['constant', 'gaussian'] as const)('when pointwise3d runs with %s blending over 8 windows, then it equals the whole-volume run', async (blend) => {
    const out = await runVolumeModel(runtime, 'pointwise3d', input.slice(), DIMS, window(blend));
    expect(out.dims).toEqual([2, 40, 48, 36]);
    expect(maxAbsDiff(out.data, full.get('pointwise3d') as Float32Array)).toBeLessThan(1e-5);
  });

  it('when the volume is smaller than the roi, then it is padded, run once and cropped back', async () => {
    const small = lcg(20 * 24 * 16, 4);
    const whole = await runVolumeModel(runtime, 'pointwise3d', small.slice(), [1, 20, 24, 16]);
    const out = await runVolumeModel(runtime, 'pointwise3d', small, [1, 20, 24, 16], window('gaussian'));
    expect(out.dims).toEqual([2, 20, 24, 16]);
    expect(maxAbsDiff(out.data, whole.data)).toBeLessThan(1e-5);
  });

  it('when tiny-unet3d runs with the roi equal to the whole volume, then it equals the whole-volume run', async () => {
    const out = await runVolumeModel(runtime, 'tiny-unet3d', input.slice(), DIMS, window('gaussian', [40, 48, 36]));
    expect(maxAbsDiff(out.data, full.get('tiny-unet3d') as Float32Array)).toBeLessThan(1e-5);
  });

  it.each(['constant', 'gaussian'] as const)('when tiny-unet3d runs with a 32³ roi and %s blending, then it matches an independent naive implementation', async (blend) => {
    const out = await runVolumeModel(runtime, 'tiny-unet3d', input.slice(), DIMS, window(blend));
    const naive = await naiveSlidingWindow(runtime, 'tiny-unet3d', input, [40, 48, 36], ROI, 0.25, blend === 'gaussian');
    expect(maxAbsDiff(out.data, naive)).toBeLessThan(1e-4);
  });

  it('when tiny-unet3d runs with a 32³ roi, then voxels far from every inner patch border equal the whole-volume run and others differ', async () => {
    const out = await runVolumeModel(runtime, 'tiny-unet3d', input.slice(), DIMS, window('gaussian'));
    const reference = full.get('tiny-unet3d') as Float32Array;
    // Receptive-field radius of the network is 10 voxels (see make_test_models.py). Window starts per axis for
    // 40/48/36 with roi 32 and overlap 0.25: [0, 8], [0, 16], [0, 4]. A voxel is "interior" when every window
    // covering it has it at least 10 voxels from each of that window's faces that lie inside the volume.
    const starts = [[0, 8], [0, 16], [0, 4]];
    const size = [40, 48, 36];
    const interiorAxis = starts.map((list, a) =>
      Array.from({ length: size[a] as number }, (_, v) =>
        list.every((s) => {
          if (v < s || v >= s + 32) return true;
          const lowInside = s > 0;
          const highInside = s + 32 < (size[a] as number);
          return (!lowInside || v - s >= 10) && (!highInside || s + 31 - v >= 10);
        }),
      ),
    );
    const plane = 40 * 48 * 36;
    const isInterior = (i: number): boolean => {
      const v = i % plane;
      const x = v % 36;
      const y = Math.floor(v / 36) % 48;
      const z = Math.floor(v / (36 * 48));
      return Boolean(interiorAxis[0]?.[z] && interiorAxis[1]?.[y] && interiorAxis[2]?.[x]);
    };
    let interior = 0;
    for (let i = 0; i < plane; i++) if (isInterior(i)) interior++;
    expect(interior).toBeGreaterThan(plane / 10);
    expect(maxAbsDiff(out.data, reference, isInterior)).toBeLessThan(1e-4);
    expect(maxAbsDiff(out.data, reference, (i) => !isInterior(i))).toBeGreaterThan(1e-3);
  });

  it.each(['pointwise3d', 'tiny-unet3d'])('when labels are asked for from %s, then the worker returns argmax of the blended logits as [D, H, W]', async (id) => {
    const logits = await runVolumeModel(runtime, id, input.slice(), DIMS, window('gaussian'));
    const labels = await runVolumeModel(runtime, id, input.slice(), DIMS, window('gaussian'), 'argmax-channels');
    expect(labels.kind).toBe('labels');
    expect(labels.dims).toEqual([40, 48, 36]);
    const expected = argmaxChannels(logits.data as Float32Array, [1, ...logits.dims]);
    expect(Buffer.from(labels.data.buffer).equals(Buffer.from(expected.data.buffer))).toBe(true);
    const wholeLabels = await runVolumeModel(runtime, id, input.slice(), DIMS, undefined, 'argmax-channels');
    expect(wholeLabels.dims).toEqual([40, 48, 36]);
    if (id === 'pointwise3d') {
      // Per-voxel model: the labels vary with the input and equal the whole-volume labels.
      expect(new Set(labels.data).size).toBe(2);
      expect(Buffer.from(labels.data.buffer).equals(Buffer.from(wholeLabels.data.buffer))).toBe(true);
    }
  });
});
