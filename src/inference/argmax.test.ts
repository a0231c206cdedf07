import { argmaxChannels } from './argmax';

describe('argmaxChannels', () => {
  it('when logits for 3 channels are given, then each voxel gets the index of its largest channel', () => {
    // N=1, C=3, 2x2 spatial; channel-major.
    const data = new Float32Array([
      0, 5, 1, 1, // channel 0
      1, 0, 9, 1, // channel 1
      2, 0, 1, 1, // channel 2
    ]);
    const r = argmaxChannels(data, [1, 3, 2, 2]);
    expect(r.dims).toEqual([1, 2, 2]);
    expect([...r.data]).toEqual([2, 0, 1, 0]);
  });

  it('when the batch has two items, then each is reduced on its own', () => {
    const data = new Float32Array([0, 1, 1, 0, /* item 2 */ 1, 0, 0, 1]);
    expect([...argmaxChannels(data, [2, 2, 2]).data]).toEqual([1, 0, 0, 1]);
  });
});
