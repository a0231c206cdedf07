import type { SeriesInfo, StudyInfo } from '../domain/study';
import { rejectReasons, selectSeries } from './select-series';

function series(uid: string, over: Partial<SeriesInfo> = {}, n = 20): SeriesInfo {
  return {
    seriesInstanceUid: uid,
    modality: 'MR',
    instances: Array.from({ length: n }, (_, i) => ({ sopInstanceUid: `${uid}.${i}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4' })),
    ...over,
  };
}

const study = (s: SeriesInfo[]): StudyInfo => ({ studyInstanceUid: '1.2', series: s });

describe('rejectReasons', () => {
  it.each([
    ['modality differs', series('a', { modality: 'CT' }), { modality: ['MR'] }, /modality CT/],
    ['modality case differs only', series('a', { modality: 'mr' }), { modality: ['MR'] }, null],
    ['body part not listed', series('a', { bodyPartExamined: 'KNEE' }), { modality: ['MR'], bodyPartExamined: ['HEAD', 'BRAIN'] }, /body part KNEE/],
    ['body part absent but required', series('a'), { modality: ['MR'], bodyPartExamined: ['HEAD'] }, /body part \(none\)/],
    ['description regex fails', series('a', { seriesDescription: 'DWI' }), { modality: ['MR'], seriesDescription: 't1' }, /description/],
    ['description regex matches case-insensitively', series('a', { seriesDescription: 'Ax T1 MPRAGE' }), { modality: ['MR'], seriesDescription: 't1' }, null],
    ['too few slices', series('a', {}, 3), { modality: ['MR'], minSlices: 16 }, /3 slices < minimum 16/],
    ['localizer', series('a', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }), { modality: ['MR'] }, /localizer/],
  ])('when %s, then the verdict says so', (_name, s, select, expected) => {
    const reasons = rejectReasons(s, select);
    if (expected === null) expect(reasons).toEqual([]);
    else expect(reasons.join('; ')).toMatch(expected);
  });
});

describe('selectSeries', () => {
  it('when a localizer and two candidate series exist, then the one with most slices is chosen', () => {
    const r = selectSeries(
      study([series('loc', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }, 50), series('thin', {}, 120), series('thick', {}, 30)]),
      { select: { modality: ['MR'], minSlices: 16 } },
    );
    expect(r.chosen?.seriesInstanceUid).toBe('thin');
    expect(r.verdicts.find((v) => v.seriesInstanceUid === 'loc')?.accepted).toBe(false);
  });

  it('when candidates tie on slices, then the lower SeriesNumber wins regardless of listing order', () => {
    const a = series('1.9', { seriesNumber: 7 });
    const b = series('1.1', { seriesNumber: 3 });
    expect(selectSeries(study([a, b]), { select: { modality: ['MR'] } }).chosen?.seriesInstanceUid).toBe('1.1');
    expect(selectSeries(study([b, a]), { select: { modality: ['MR'] } }).chosen?.seriesInstanceUid).toBe('1.1');
  });

  it('when no series matches, then nothing is chosen and every series has reasons', () => {
    const r = selectSeries(study([series('a', { modality: 'SEG' }, 1)]), { select: { modality: ['MR'], minSlices: 16 } });
    expect(r.chosen).toBeUndefined();
    expect(r.verdicts[0]?.reasons.length).toBe(2);
  });
});
