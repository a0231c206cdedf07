import { AppError } from '../domain/errors';
import { importanceMap, MIN_IMPORTANCE, slidingWindowInference, slidingWindows, windowStarts, type PatchPredictor } from './sliding-window';
import { lcg } from '../../test/support/random';

/** A "model" whose output is its input (K = C): any blend of it must give the input back. */
const identity: PatchPredictor = (batch, dims) => Promise.resolve({ data: batch.slice(), dims });

describe('windowStarts (MONAI scan interval and dense patch slices)', () => {
  it('when the size is not a multiple of the interval, then the last window is aligned to the end', () => {
    expect(windowStarts(40, 32, 0.25)).toEqual([0, 8]);
    expect(windowStarts(36, 32, 0.25)).toEqual([0, 4]);
    expect(windowStarts(128, 32, 0.25)).toEqual([0, 24, 48, 72, 96]);
    expect(windowStarts(100, 32, 0.5)).toEqual([0, 16, 32, 48, 64, 68]);
  });

  it('when the roi equals the size or overlap is 0, then windows tile without overlap', () => {
    expect(windowStarts(48, 48, 0.25)).toEqual([0]);
    expect(windowStarts(64, 32, 0)).toEqual([0, 32]);
  });

  it('when the volume is smaller than the roi, then one window starts inside the symmetric padding', () => {
    // 20 padded to 32: 6 before, 6 after (MONAI puts the odd voxel after).
    expect(slidingWindows([20, 32, 31], [32, 32, 32], 0.25).map((w) => [w.z, w.y, w.x])).toEqual([[-6, 0, 0]]);
    expect(slidingWindows([32, 32, 31], [32, 32, 32], 0.25)[0]).toEqual({ z: 0, y: 0, x: 0 });
    expect(slidingWindows([40, 48, 36], [32, 32, 32], 0.25)).toHaveLength(8);
  });
});

describe('importanceMap', () => {
  it('when blending is constant, then every weight is 1', () => {
    expect([...new Set(importanceMap([4, 5, 6], 'constant'))]).toEqual([1]);
  });

  it('when blending is gaussian, then the map is separable with sigma = 0.125·roi, peak 1 and floored', () => {
    const roi: [number, number, number] = [33, 33, 33];
    const m = importanceMap(roi, 'gaussian');
    const at = (z: number, y: number, x: number): number => m[(z * 33 + y) * 33 + x] as number;
    expect(at(16, 16, 16)).toBeCloseTo(1, 6);
    const sigma = 0.125 * 33;
    expect(at(16, 16, 20)).toBeCloseTo(Math.exp(-16 / (2 * sigma * sigma)), 6);
    expect(at(12, 16, 16)).toBeCloseTo(at(16, 16, 20), 7);
    expect(at(0, 0, 0)).toBeCloseTo(MIN_IMPORTANCE, 9);
    expect(Math.min(...m)).toBeCloseTo(MIN_IMPORTANCE, 9);
  });
});

describe('slidingWindowInference', () => {
  const sw = { roiSize: [8, 8, 8] as [number, number, number], overlap: 0.25, blend: 'gaussian' as const, batchSize: 3 };

  it('when the model is the identity, then gaussian blending returns the input (every window agrees)', async () => {
    const dims = [2, 13, 10, 17];
    const input = lcg(2 * 13 * 10 * 17, 5);
    const out = await slidingWindowInference(input, dims, sw, identity);
    expect(out.dims).toEqual([2, 13, 10, 17]);
    let worst = 0;
    for (let i = 0; i < input.length; i++) worst = Math.max(worst, Math.abs((out.data[i] as number) - (input[i] as number)));
    expect(worst).toBeLessThan(1e-6);
  });

  it('when the volume is smaller than the roi, then patches are padded with padValue and the output is cropped back', async () => {
    const dims = [1, 5, 6, 7];
    const input = lcg(5 * 6 * 7, 9);
    const seen: Float32Array[] = [];
    const out = await slidingWindowInference(input, dims, { ...sw, padValue: -7 }, (batch, d) => {
      seen.push(batch.slice());
      return identity(batch, d);
    });
    expect(seen).toHaveLength(1);
    const patch = seen[0] as Float32Array;
    expect(patch).toHaveLength(512);
    expect(patch.filter((v) => v === -7)).toHaveLength(512 - 5 * 6 * 7);
    // 5 → 8 pads 1 before; 6 → 8 pads 1; 7 → 8 pads 0 (the odd voxel goes after).
    expect(patch[(1 * 8 + 1) * 8 + 0]).toBe(input[0]);
    expect(out.dims).toEqual([1, 5, 6, 7]);
    // w·v / w in float32: equal up to rounding.
    out.data.forEach((v, i) => expect(v).toBeCloseTo(input[i] as number, 6));
  });

  it('when windows overlap with constant blending, then a voxel gets the mean of the windows covering it', async () => {
    // Along x: size 12, roi 8, overlap 0.5 → windows at 0 and 4; voxels 4..7 are covered by both.
    let call = 0;
    const patchValue: PatchPredictor = (batch, dims) => {
      call++;
      return Promise.resolve({ data: new Float32Array(batch.length).fill(call * 10), dims });
    };
    const out = await slidingWindowInference(new Float32Array(8 * 8 * 12), [1, 8, 8, 12], { roiSize: [8, 8, 8], overlap: 0.5, blend: 'constant', batchSize: 1 }, patchValue);
    expect([...out.data.subarray(0, 12)]).toEqual([10, 10, 10, 10, 15, 15, 15, 15, 20, 20, 20, 20]);
  });

  it('when patches are batched, then the result equals one patch per call and the last batch is smaller', async () => {
    const dims = [1, 20, 16, 12];
    const input = lcg(20 * 16 * 12, 3);
    const sizes: number[] = [];
    const square: PatchPredictor = (batch, d) => {
      sizes.push(d[0] as number);
      return Promise.resolve({ data: batch.map((v) => v * v + v), dims: d });
    };
    const batched = await slidingWindowInference(input, dims, { ...sw, batchSize: 5 }, square);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(slidingWindows([20, 16, 12], [8, 8, 8], 0.25).length);
    expect(sizes.slice(0, -1).every((n) => n === 5) && (sizes.at(-1) as number) <= 5).toBe(true);
    const single = await slidingWindowInference(input, dims, { ...sw, batchSize: 1 }, square);
    expect([...batched.data]).toEqual([...single.data]);
  });

  it('when the settings or the model output are wrong, then it fails with a clear INFERENCE_FAILED error', async () => {
    const input = new Float32Array(8 * 8 * 8);
    await expect(slidingWindowInference(input, [1, 8, 8, 8], { ...sw, overlap: 1 }, identity)).rejects.toThrow(/overlap must be in \[0, 1\)/);
    await expect(slidingWindowInference(input, [8, 8, 8], sw, identity)).rejects.toThrow(/\[C, D, H, W\]/);
    await expect(slidingWindowInference(input, [1, 8, 8, 8], { ...sw, roiSize: [8, 0, 8] }, identity)).rejects.toThrow(/roiSize/);
    const shrinking: PatchPredictor = (batch, d) => Promise.resolve({ data: batch.subarray(0, batch.length / 8), dims: [d[0] as number, 1, 4, 4, 4] });
    const err = await slidingWindowInference(input, [1, 8, 8, 8], sw, shrinking).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'INFERENCE_FAILED', message: expect.stringContaining('[1, 1, 4, 4, 4] does not match') });
  });
});
