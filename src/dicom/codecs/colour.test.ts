import { toLuminance } from './colour';

describe('toLuminance', () => {
  it('when given pure red, green, blue and white, then it returns the BT.601 weights times the value', () => {
    const y = toLuminance(new Float32Array([100, 0, 0, 0, 100, 0, 0, 0, 100, 200, 200, 200]));
    expect(Array.from(y).map((v) => Math.round(v * 1000) / 1000)).toEqual([29.9, 58.7, 11.4, 200]);
  });
});
