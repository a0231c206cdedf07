import { stackChannels } from './channels';

describe('stackChannels', () => {
  it('when two CT windows are configured, then channel c holds the volume through window c, source untouched', () => {
    const hu = Float32Array.from([-1000, 40, 400]);
    const out = stackChannels(hu, [
      { intensity: [{ op: 'window', center: 40, width: 400 }] },
      { intensity: [{ op: 'window', center: 400, width: 1000 }] },
    ]);
    [0, 0.5, 1, 0, 0.14, 0.5].forEach((v, p) => expect(out[p]).toBeCloseTo(v, 6));
    expect(Array.from(hu)).toEqual([-1000, 40, 400]);
  });

  it('when no channel is given, then it is refused', () => {
    expect(() => stackChannels(new Float32Array(1), [])).toThrow(/at least one/);
  });
});
