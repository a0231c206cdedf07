import { backoffDelayMs } from './backoff';

describe('backoffDelayMs', () => {
  it('when attempts grow, then the delay doubles until the cap', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, 1000, 5000, mid))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
  it('when jitter is at its extremes, then the delay stays within ±20 % and under the cap', () => {
    expect(backoffDelayMs(2, 1000, 10_000, () => 0)).toBe(1600);
    expect(backoffDelayMs(2, 1000, 10_000, () => 0.999999)).toBe(2400);
    expect(backoffDelayMs(9, 1000, 10_000, () => 0.999999)).toBe(10_000);
  });
});
