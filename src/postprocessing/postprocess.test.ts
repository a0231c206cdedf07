import type { Grid3 } from '../preprocessing/grid';
import { labelsFromOutput, postprocess } from './postprocess';

const grid: Grid3 = { dims: [5, 1, 1], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };

describe('postprocess', () => {
  it('when remap and largest component are set, then remap applies first and components are taken on reported values', () => {
    // 3 → 1 merges with the neighbouring 1 into one component of 2, which beats the lone 1 at the end.
    expect(Array.from(postprocess(Uint8Array.from([1, 3, 0, 0, 1]), grid, { labelRemap: { 3: 1 }, largestComponent: [1] }))).toEqual([1, 1, 0, 0, 0]);
  });

  it('when nothing is configured, then labels pass unchanged', () => {
    expect(Array.from(postprocess(Uint8Array.from([1, 0, 2, 0, 1]), grid))).toEqual([1, 0, 2, 0, 1]);
  });

  it('when outputs are logits or sigmoid, then they become labels by argmax or thresholds', () => {
    const out = Float32Array.from([0.9, 0.1, /* ch1 */ 0.2, 0.8]);
    expect(Array.from(labelsFromOutput(out, [1, 2, 2], 'logits'))).toEqual([0, 1]);
    expect(Array.from(labelsFromOutput(out, [1, 2, 2], 'sigmoid', { thresholds: [0.5, 0.9] }))).toEqual([1, 0]);
  });
});
