import { minmaxInPlace, resizeBilinear2d, resizeNearest2d, softmax, zscoreInPlace } from './tensor-ops';

describe('tensor ops', () => {
  it('when z-scoring, then mean becomes 0 and std 1', () => {
    const d = new Float32Array([1, 2, 3, 4]);
    zscoreInPlace(d);
    const mean = d.reduce((a, b) => a + b, 0) / 4;
    const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    expect(mean).toBeCloseTo(0, 6);
    expect(std).toBeCloseTo(1, 6);
  });

  it('when the image is constant, then z-score and min-max give zeros instead of NaN', () => {
    const a = new Float32Array([5, 5, 5]);
    const b = new Float32Array([5, 5, 5]);
    zscoreInPlace(a);
    minmaxInPlace(b);
    expect([...a, ...b]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('when resizing bilinearly 2x2 → 4x4, then values match align_corners=False interpolation', () => {
    const out = resizeBilinear2d(new Float32Array([0, 1, 2, 3]), 2, 2, 4, 4);
    // torch.nn.functional.interpolate(t, size=(4,4), mode="bilinear", align_corners=False) first row: 0, .25, .75, 1
    expect([...out.subarray(0, 4)].map((v) => +v.toFixed(4))).toEqual([0, 0.25, 0.75, 1]);
    expect(out[15]).toBeCloseTo(3);
  });

  it('when a label image is upsampled then downsampled by nearest, then it comes back unchanged', () => {
    const labels = new Uint8Array([0, 1, 2, 3, 4, 5]);
    const up = resizeNearest2d(labels, 2, 3, 6, 9);
    expect([...resizeNearest2d(up, 6, 9, 2, 3)]).toEqual([...labels]);
  });

  it('when logits are given, then softmax sums to 1 and keeps order', () => {
    const p = softmax([1, 3, 2]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(p[1]).toBeGreaterThan(p[2] as number);
  });
});
