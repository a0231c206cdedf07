import { decide, expectedInstancesFrom, observe, quietTimeMs, routed, studySnapshot, type SettlePolicy } from './settling';
import type { StudyEvent, StudyInfo } from './study';

const policy: SettlePolicy = { quietMs: 10_000, gapFactor: 2, windowMs: 600_000 };
const event = (extra: Partial<StudyEvent> = {}): StudyEvent => ({ studyInstanceUid: '1.2', source: 'orthanc', receivedAt: 't', ...extra });
const study = (n: number, extra: Partial<StudyInfo['series'][number]> = {}): StudyInfo => ({
  studyInstanceUid: '1.2',
  series: [{ seriesInstanceUid: '1.2.3', modality: 'MR', instances: Array.from({ length: n }, (_, i) => ({ sopInstanceUid: `1.2.3.${i}`, sopClassUid: 'x' })), ...extra }],
});

describe('R10.4 study settling', () => {
  it('when a study is first seen, then it is due after the base quiet time', () => {
    const r = observe(undefined, event(), studySnapshot(study(3)), 1000, policy);
    expect(r).toMatchObject({ status: 'settling', firstSeenAt: 1000, lastChangeAt: 1000, instanceCount: 3, largestGapMs: 0, dueAt: 11_000 });
  });

  it('when the same instances are seen in another order, then the fingerprint is the same', () => {
    const a = study(3);
    const b = study(3);
    b.series[0]?.instances.reverse();
    expect(studySnapshot(a).fingerprint).toBe(studySnapshot(b).fingerprint);
    expect(studySnapshot(a).fingerprint).not.toBe(studySnapshot(study(4)).fingerprint);
  });

  it('when a SEG series is added to the study, then the study has not changed (our own outputs do not unsettle it)', () => {
    const withSeg = study(3);
    withSeg.series.push({ seriesInstanceUid: '9', modality: 'SEG', instances: [{ sopInstanceUid: '9.1', sopClassUid: 'seg' }] });
    expect(studySnapshot(withSeg).fingerprint).toBe(studySnapshot(study(3)).fingerprint);
  });

  it('when the study grows, then the quiet time becomes gapFactor times the longest gap, capped by the window', () => {
    let r = observe(undefined, event(), studySnapshot(study(1)), 0, policy);
    r = observe(r, event(), studySnapshot(study(2)), 8_000, policy);
    expect(r.largestGapMs).toBe(8_000);
    expect(quietTimeMs(r, policy)).toBe(16_000);
    expect(r.dueAt).toBe(8_000 + 16_000);
    r = observe(r, event(), studySnapshot(study(3)), 8_000 + 500_000, policy);
    expect(quietTimeMs(r, policy)).toBe(600_000);
  });

  it('when nothing changed by the due time, then it is routed; before then it waits', () => {
    const r = observe(undefined, event(), studySnapshot(study(3)), 0, policy);
    expect(decide(r, 9_999, policy, studySnapshot(study(3))).action).toBe('wait');
    expect(decide(r, 10_000, policy, studySnapshot(study(3)))).toEqual({ action: 'route' });
  });

  it('when the intake reported failed instances, then the study is held with the reason until an event without it', () => {
    let r = observe(undefined, event({ incomplete: '38 instances were not stored' }), studySnapshot(study(53)), 0, policy);
    const held = decide(r, 20_000, policy, studySnapshot(study(53)));
    expect(held).toMatchObject({ action: 'hold', record: { status: 'held', heldReason: '38 instances were not stored' } });
    r = observe(held.action === 'hold' ? held.record : r, event(), studySnapshot(study(91)), 30_000, policy);
    expect(decide(r, r.dueAt, policy, studySnapshot(study(91))).action).toBe('route');
  });

  it('when a series is short of its expected count, then it is held for the completion window, then routed with a warning', () => {
    const snap = studySnapshot(study(53, { expectedInstances: 91 }));
    expect(snap.shortSeries).toBe('53 of 91');
    const r = observe(undefined, event(), snap, 0, policy);
    expect(decide(r, 20_000, policy, snap)).toMatchObject({ action: 'hold', record: { heldReason: expect.stringContaining('53 of 91') } });
    expect(decide(r, 600_000, policy, snap)).toEqual({ action: 'route', warning: expect.stringContaining('53 of 91') });
  });

  it('when headers say how many images the acquisition has, then the series expects that many only if all agree on one acquisition', () => {
    expect(expectedInstancesFrom([{ imagesInAcquisition: 91 }, { imagesInAcquisition: 91 }])).toBe(91);
    expect(expectedInstancesFrom([{ imagesInAcquisition: 91, acquisitionNumber: '1' }, { imagesInAcquisition: 91, acquisitionNumber: '2' }])).toBeUndefined();
    expect(expectedInstancesFrom([{ imagesInAcquisition: 91 }, { imagesInAcquisition: 90 }])).toBeUndefined();
    expect(expectedInstancesFrom([{}, {}])).toBeUndefined();
    expect(expectedInstancesFrom([{ imagesInAcquisition: 0 }])).toBeUndefined();
  });

  it('when a routed study changes later, then the gap since its last change counts, so a slow sender is learned', () => {
    let r = observe(undefined, event(), studySnapshot(study(16)), 0, policy);
    r = routed(r, policy);
    expect(r).toMatchObject({ status: 'routed', dueAt: 600_000 });
    r = observe(r, event(), studySnapshot(study(17)), 15_000, policy);
    expect(r).toMatchObject({ status: 'settling', largestGapMs: 15_000, dueAt: 15_000 + 30_000 });
  });

  // The measurement: 24 instances 5 s apart, an intake whose own stability signal fires 2 s after each
  // instance (StableAge 2), looks at the due times. The whole study is routed once, after the last instance.
  it('when 24 instances arrive 5 s apart and the intake calls the study stable after each, then it is routed exactly once, with all 24', () => {
    const arrivals = Array.from({ length: 24 }, (_, i) => i * 5_000);
    const present = (t: number): number => arrivals.filter((a) => a <= t).length;
    let record: ReturnType<typeof observe> | undefined;
    const routedWith: number[] = [];
    for (let t = 0; t <= 300_000; t += 250) {
      const stableEvent = arrivals.some((a) => t === a + 2_000);
      if (stableEvent) record = observe(record, event(), studySnapshot(study(present(t))), t, policy);
      if (record && record.status !== 'routed' && record.dueAt <= t) {
        const snap = studySnapshot(study(present(t)));
        const looked = observe(record, event(), snap, t, policy);
        const d = decide(looked, t, policy, snap);
        if (d.action === 'route') {
          routedWith.push(looked.instanceCount);
          record = routed(looked, policy);
        } else record = d.record;
      }
    }
    expect(routedWith).toEqual([24]);
  });
});
