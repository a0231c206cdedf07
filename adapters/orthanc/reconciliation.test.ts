import { orthancTimeMinus } from './reconciliation';

describe('orthancTimeMinus', () => {
  it('when a margin is subtracted, then the result is in Orthanc\'s format, across day, month and year ends', () => {
    expect(orthancTimeMinus('20261123T114048', 300_000)).toBe('20261123T113548');
    expect(orthancTimeMinus('20270101T000100', 120_000)).toBe('20261231T235900');
    expect(orthancTimeMinus('20260301T000000', 1000)).toBe('20260228T235959');
  });

  it('when a negative margin is given, then the time moves forward', () => {
    expect(orthancTimeMinus('20261123T235959', -1000)).toBe('20261124T000000');
  });

  it('when the input is not an Orthanc time, then the result is empty (from the start)', () => {
    expect(orthancTimeMinus('', 1000)).toBe('');
    expect(orthancTimeMinus('2026-11-23 11:40', 1000)).toBe('');
  });
});
