import { remapLabels } from './remap';

describe('remapLabels', () => {
  it('when {"2": 1, "3": 0} is given, then 2 becomes 1, 3 becomes 0 and others keep their value', () => {
    expect(Array.from(remapLabels(Uint8Array.from([0, 1, 2, 3, 4]), { 2: 1, 3: 0 }))).toEqual([0, 1, 1, 0, 4]);
  });

  it('when a value does not fit uint8, then the remap is refused', () => {
    expect(() => remapLabels(new Uint8Array(1), { 1: 300 })).toThrow(/0..255/);
  });
});
