import { softmaxChannels, thresholdChannels } from './channels';

describe('softmaxChannels', () => {
  it('when logits are [0, ln 3] per voxel, then probabilities are [0.25, 0.75], channel-major layout kept', () => {
    // [N=1, C=2, 2 voxels]: voxel 0 logits (0, ln 3), voxel 1 logits (1000, 1000) (stable with huge values).
    const out = softmaxChannels(Float32Array.from([0, 1000, Math.log(3), 1000]), [1, 2, 2]);
    [0.25, 0.5, 0.75, 0.5].forEach((v, p) => expect(out[p]).toBeCloseTo(v, 6));
  });

  it('when the shape does not match the data, then it is refused', () => {
    expect(() => softmaxChannels(new Float32Array(3), [1, 2, 2])).toThrow(/does not match/);
  });
});

describe('thresholdChannels', () => {
  // [N=1, C=2, 4 voxels]
  const probs = Float32Array.from([0.2, 0.6, 0.9, 0.5, /* channel 1 */ 0.1, 0.1, 0.95, 0.3]);

  it('when thresholds default to 0.5, then a voxel at or above it gets channel + 1, the highest channel winning', () => {
    expect(Array.from(thresholdChannels(probs, [1, 2, 4]))).toEqual([0, 1, 2, 1]);
  });

  it('when per-channel thresholds are given, then each channel uses its own', () => {
    expect(Array.from(thresholdChannels(probs, [1, 2, 4], { thresholds: [0.7, 0.25] }))).toEqual([0, 0, 2, 2]);
  });

  it('when the output holds logits, then comparing with logit(threshold) equals sigmoid then threshold', () => {
    const logits = probs.map((p) => Math.log(p / (1 - p)));
    expect(Array.from(thresholdChannels(logits, [1, 2, 4], { thresholds: [0.7, 0.25], logits: true }))).toEqual([0, 0, 2, 2]);
  });
});
