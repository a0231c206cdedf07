import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IntensityOp } from '../domain/manifest';
import { applyIntensity, meanStd } from './intensity';

const PYTHON = '/usr/bin/python3';

/** Runs a numpy expression over `x` (the input as float64) and returns the resulting float list, or undefined without numpy. */
function numpy(expression: string, input: Float32Array): number[] | undefined {
  if (!existsSync(PYTHON)) return undefined;
  const script = `import sys, json, numpy as np\nx = np.array(json.load(sys.stdin), dtype=np.float64)\nprint(json.dumps(np.atleast_1d(${expression}).astype(float).tolist()))`;
  try {
    return JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(Array.from(input)), encoding: 'utf8' })) as number[];
  } catch {
    return undefined; // numpy not installed here
  }
}

function run(values: number[], ops: IntensityOp[]): number[] {
  return Array.from(applyIntensity(Float32Array.from(values), ops));
}

/** Deterministic pseudo-random values (LCG), with repeats and zeros like real images. */
function sample(n: number, seed = 7): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let p = 0; p < n; p++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const r = s / 2147483648;
    out[p] = r < 0.2 ? 0 : Math.round(r * 4000 - 1000) / 4;
  }
  return out;
}

describe('applyIntensity', () => {
  it('when clipping, then values outside [min, max] are clamped and the rest kept', () => {
    expect(run([-2000, -5, 0, 40, 3000], [{ op: 'clip', min: -1000, max: 1000 }])).toEqual([-1000, -5, 0, 40, 1000]);
  });

  it('when windowing center 40 width 400, then [-160, 240] maps linearly to [0, 1] and clamps', () => {
    expect(run([-500, -160, 40, 140, 240, 900], [{ op: 'window', center: 40, width: 400 }])).toEqual([0, 0, 0.5, 0.75, 1, 1]);
  });

  it('when scaling, then x * multiply + add', () => {
    expect(run([0, 0.5, 1], [{ op: 'scale', multiply: 2048, add: -1024 }])).toEqual([-1024, 0, 1024]);
  });

  it('when min-max scaling, then min → 0 and max → 1; a constant image becomes zeros', () => {
    expect(run([10, 20, 30, 50], [{ op: 'minmax' }])).toEqual([0, 0.25, 0.5, 1]);
    expect(run([7, 7, 7], [{ op: 'minmax' }])).toEqual([0, 0, 0]);
  });

  it('when z-scoring [1, 2, 3, 4], then the population std (ddof 0) is used', () => {
    // mean 2.5, std sqrt(1.25)
    const s = Math.sqrt(1.25);
    const out = run([1, 2, 3, 4], [{ op: 'zscore' }]);
    [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s].forEach((v, p) => expect(out[p]).toBeCloseTo(v, 6));
  });

  it('when z-scoring with fixed mean and std, then those are used', () => {
    expect(run([100, 200, 300], [{ op: 'zscore', mean: 100, std: 50 }])).toEqual([0, 2, 4]);
  });

  it('when z-scoring non-zero only, then zeros stay zero and statistics come from the rest', () => {
    // Non-zero values 2 and 4: mean 3, std 1.
    expect(run([0, 2, 0, 4], [{ op: 'zscore', nonzero: true }])).toEqual([0, -1, 0, 1]);
  });

  it('when z-scoring a constant image, then it becomes zeros (std taken as 1)', () => {
    expect(run([5, 5, 5], [{ op: 'zscore' }])).toEqual([0, 0, 0]);
  });

  it('when only mean or only std is given, then the op is refused', () => {
    expect(() => run([1], [{ op: 'zscore', mean: 1 }])).toThrow(/both mean and std/);
  });

  it('when percentile scaling [0..10] at 10/90, then the linear-interpolated percentiles 1 and 9 map to 0 and 1', () => {
    const out = run([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [{ op: 'percentile', lower: 10, upper: 90, clip: true }]);
    expect(out).toEqual([0, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1]);
  });

  it('when percentile scaling without clip to [-1, 1], then values outside the range extrapolate', () => {
    expect(run([0, 1, 2, 3, 4], [{ op: 'percentile', lower: 25, upper: 75, outMin: -1, outMax: 1 }])).toEqual([-2, -1, 0, 1, 2]);
  });

  it('when ops are chained, then they apply in order (HU clip then fixed z-score)', () => {
    expect(run([-3000, 0, 3000], [{ op: 'clip', min: -1000, max: 1000 }, { op: 'zscore', mean: 0, std: 1000 }])).toEqual([-1, 0, 1]);
  });

  describe('against numpy', () => {
    const x = sample(20011);
    const check = (expected: number[] | undefined, actual: Float32Array, digits: number): void => {
      if (!expected) return; // numpy missing: the hand-computed cases above still run
      expect(actual.length).toBe(expected.length);
      let worst = 0;
      for (let p = 0; p < actual.length; p++) worst = Math.max(worst, Math.abs((actual[p] as number) - (expected[p] as number)));
      expect(worst).toBeLessThan(10 ** -digits);
    };

    it('when z-scoring, then the result equals (x - x.mean()) / x.std()', () => {
      check(numpy('(x - x.mean()) / x.std()', x), applyIntensity(x.slice(), [{ op: 'zscore' }]), 5);
    });

    it('when z-scoring non-zero voxels, then it equals numpy over x[x != 0] with zeros kept', () => {
      const expr = 'np.where(x != 0, (x - x[x != 0].mean()) / x[x != 0].std(), 0)';
      check(numpy(expr, x), applyIntensity(x.slice(), [{ op: 'zscore', nonzero: true }]), 5);
    });

    it('when percentile scaling 0.5/99.5, then it equals numpy.percentile (linear) scaling with clip', () => {
      const expr = 'np.clip((x - np.percentile(x, 0.5)) / (np.percentile(x, 99.5) - np.percentile(x, 0.5)), 0, 1)';
      check(numpy(expr, x), applyIntensity(x.slice(), [{ op: 'percentile', lower: 0.5, upper: 99.5, clip: true }]), 5);
    });

    it('when computing mean and std, then they equal numpy float64', () => {
      const ref = numpy('np.array([x.mean(), x.std()])', x);
      if (!ref) return;
      const { mean, std } = meanStd(x);
      expect(mean).toBeCloseTo(ref[0] as number, 8);
      expect(std).toBeCloseTo(ref[1] as number, 8);
    });
  });
});
