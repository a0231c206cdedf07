import { orderStatistics, percentiles, quickselect } from './percentile';

function lcg(n: number, levels: number, seed = 3): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let p = 0; p < n; p++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[p] = Math.floor((s / 2147483648) * levels) - levels / 3;
  }
  return out;
}

/** numpy.percentile's default (linear) definition, from a full sort: the reference. */
function sortedPercentile(data: Float32Array, p: number): number {
  const a = Float64Array.from(data).sort();
  const pos = (p / 100) * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, a.length - 1);
  return (a[lo] as number) + (pos - lo) * ((a[hi] as number) - (a[lo] as number));
}

describe('percentiles', () => {
  it('when data are 1..5, then the 0th, 30th, 50th and 100th percentiles are 1, 2.2, 3 and 5', () => {
    expect(percentiles(Float32Array.from([5, 3, 1, 4, 2]), [0, 30, 50, 100])).toEqual([1, 2.2, 3, 5]);
  });

  it('when data have heavy ties (a CT with much air), then results equal a full sort', () => {
    const data = lcg(50000, 40);
    data.fill(-1024, 0, 30000);
    for (const p of [0, 0.5, 1, 25, 50, 60, 75, 99, 99.5, 100]) expect(percentiles(data, [p])[0]).toBeCloseTo(sortedPercentile(data, p), 9);
  });

  it('when data are continuous with outliers, then results equal a full sort', () => {
    const data = lcg(30000, 1_000_000).map((v) => v / 997);
    data[17] = 1e9;
    data[99] = -1e9;
    for (const p of [0.5, 2, 50, 98, 99.5]) expect(percentiles(data, [p])[0]).toBeCloseTo(sortedPercentile(data, p), 6);
  });

  it('when all values are equal, then every order statistic is that value', () => {
    expect(orderStatistics(new Float32Array(10).fill(3), [0, 9])).toEqual([3, 3]);
  });

  it('when a percentile is outside [0, 100], then it is refused', () => {
    expect(() => percentiles(Float32Array.from([1]), [101])).toThrow(/outside/);
  });
});

describe('quickselect', () => {
  it('when selecting every rank of a shuffled array with duplicates, then it equals the sorted array', () => {
    const base = lcg(257, 20, 11);
    const sorted = Float32Array.from(base).sort();
    for (let k = 0; k < base.length; k++) expect(quickselect(base.slice(), k)).toBe(sorted[k]);
  });
});
