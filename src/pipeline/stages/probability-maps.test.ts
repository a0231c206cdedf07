import { CODES } from '../../domain/codes';
import type { SegmentDefinition } from '../../domain/manifest';
import { segmentProbabilities } from './probability-maps';

const seg = (labelValue: number): SegmentDefinition => ({ labelValue, label: `s${labelValue}`, category: CODES.anatomicalStructure, type: CODES.brain });

describe('segmentProbabilities', () => {
  it('when the output is logits, then each segment gets its softmax channel quantised to 0..255', () => {
    // N=1, C=2, 2 pixels: logits (0, 0) → p1 = 0.5; (0, ln 3) → p1 = 0.75.
    const out = new Float32Array([0, 0, 0, Math.log(3)]);
    const [p] = segmentProbabilities(out, [1, 2, 2], 'logits', [seg(1)]);
    expect([...(p as Uint8Array)]).toEqual([128, 191]);
  });

  it('when the output is sigmoid probabilities, then label L reads channel L − 1', () => {
    const out = new Float32Array([0.2, 0.8, /* channel 1 */ 1.2, -0.3]);
    const maps = segmentProbabilities(out, [1, 2, 2], 'sigmoid', [seg(1), seg(2)]);
    expect(maps.map((m) => [...m])).toEqual([
      [51, 204],
      [255, 0],
    ]);
  });

  it('when a segment has no channel or the model outputs labels, then it says so', () => {
    expect(() => segmentProbabilities(new Float32Array(4), [1, 2, 2], 'logits', [seg(2)])).toThrow(/no output channel/);
    expect(() => segmentProbabilities(new Float32Array(4), [1, 2, 2], 'labels', [seg(1)])).toThrow(/outputs labels/);
  });
});
