import { evenlySpacedSlices } from './infer-classification';

describe('evenlySpacedSlices', () => {
  it('when one slice is asked for, then the middle one is picked', () => {
    expect(evenlySpacedSlices(91, 1)).toEqual([45]);
  });
  it('when three are asked for, then they spread over the thirds', () => {
    expect(evenlySpacedSlices(90, 3)).toEqual([15, 45, 75]);
  });
});
