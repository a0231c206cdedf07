import type { SeriesSelection } from '../domain/manifest';
import type { Orientation6, SeriesInfo, StudyInfo } from '../domain/study';
import { rejectReasons, selectSeries } from './select-series';

const MR = '1.2.840.10008.5.1.4.1.1.4';
const AXIAL: Orientation6 = [1, 0, 0, 0, 1, 0];
const SAGITTAL: Orientation6 = [0, 1, 0, 0, 0, -1];

function series(uid: string, over: Partial<SeriesInfo> = {}, n = 20, opts: { sopClassUid?: string; iop?: Orientation6 } = {}): SeriesInfo {
  return {
    seriesInstanceUid: uid,
    modality: 'MR',
    instances: Array.from({ length: n }, (_, i) => ({
      sopInstanceUid: `${uid}.${i}`,
      sopClassUid: opts.sopClassUid ?? MR,
      imageOrientationPatient: opts.iop ?? AXIAL,
      imagePositionPatient: [0, 0, i * 2] as [number, number, number],
    })),
    ...over,
  };
}

const study = (s: SeriesInfo[], over: Partial<StudyInfo> = {}): StudyInfo => ({ studyInstanceUid: '1.2', series: s, ...over });
const only = (select: SeriesSelection) => ({ select });

describe('rejectReasons: one series against a selection', () => {
  it.each<[string, SeriesInfo, SeriesSelection, RegExp | null]>([
    ['modality differs', series('a', { modality: 'CT' }), { modality: ['MR'] }, /Modality CT does not match MR/],
    ['modality case differs only', series('a', { modality: 'mr' }), { modality: ['MR'] }, null],
    ['modality by regex in the series block', series('a', { modality: 'MR' }), { modality: ['MR', 'CT'], series: { Modality: { regex: '^m' } } }, null],
    ['modality excluded', series('a', { modality: 'PT' }), { modality: ['!PT'] }, /Modality PT is excluded by !PT/],
    ['body part excluded', series('a', { bodyPartExamined: 'knee' }), { modality: ['MR'], bodyPartExamined: ['!KNEE'] }, /BodyPartExamined knee is excluded by !KNEE/],
    ['body part not listed', series('a', { bodyPartExamined: 'KNEE' }), { modality: ['MR'], bodyPartExamined: ['HEAD', 'BRAIN'] }, /BodyPartExamined KNEE does not match HEAD \| BRAIN/],
    ['body part absent but required', series('a'), { modality: ['MR'], bodyPartExamined: ['HEAD'] }, /BodyPartExamined \(none\)/],
    ['body part by regex', series('a', { bodyPartExamined: 'HEADNECK' }), { modality: ['MR'], series: { BodyPartExamined: { regex: '^head' } } }, null],
    ['description regex fails (shorthand)', series('a', { seriesDescription: 'DWI' }), { modality: ['MR'], seriesDescription: 't1' }, /SeriesDescription DWI does not match \/t1\/i/],
    ['description regex matches case-insensitively (shorthand)', series('a', { seriesDescription: 'Ax T1 MPRAGE' }), { modality: ['MR'], seriesDescription: 't1' }, null],
    ['description exact in the series block is not a search', series('a', { seriesDescription: 'Ax T1 MPRAGE' }), { modality: ['MR'], series: { SeriesDescription: 't1' } }, /SeriesDescription Ax T1 MPRAGE does not match t1/],
    ['slice thickness above a comparison', series('a', { sliceThickness: 5 }), { modality: ['MR'], series: { SliceThickness: '<= 1.5' } }, /SliceThickness 5 is not <= 1.5/],
    ['slice thickness from positions when the attribute is absent', series('a'), { modality: ['MR'], series: { SliceThickness: [1.9, 2.1] } }, null],
    ['pixel spacing out of range', series('a', { pixelSpacing: [0.5, 1.2] }), { modality: ['MR'], series: { PixelSpacing: [0.4, 1] } }, /PixelSpacing 0.5\\1.2 is not in \[0.4, 1\]/],
    ['manufacturer by regex', series('a', { manufacturer: 'SIEMENS Healthineers' }), { modality: ['MR'], series: { Manufacturer: { regex: '^siemens' } } }, null],
    ['image type exclusions', series('a', { imageType: ['DERIVED', 'PRIMARY', 'MPR'] }), { modality: ['MR'], series: { ImageType: ['!LOCALIZER', '!DERIVED'] } }, /ImageType DERIVED\\PRIMARY\\MPR is excluded by !DERIVED/],
    ['contrast required but absent', series('a'), { modality: ['MR'], series: { ContrastBolusAgent: { regex: '.' } } }, /ContrastBolusAgent \(none\)/],
    ['number of slices in a range', series('a', {}, 30), { modality: ['MR'], series: { NumberOfSlices: [10, 20] } }, /NumberOfSlices 30 is not in \[10, 20\]/],
    ['orientation differs', series('a', {}, 20, { iop: SAGITTAL }), { modality: ['MR'], orientation: 'axial' }, /orientation sagittal is not axial/],
    ['orientation any-of', series('a', {}, 20, { iop: SAGITTAL }), { modality: ['MR'], orientation: ['axial', 'sagittal'] }, null],
    ['too few slices', series('a', {}, 3), { modality: ['MR'], minSlices: 16 }, /3 slices < minimum 16/],
    ['localizer', series('a', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }), { modality: ['MR'] }, /localizer/],
    ['localizer accepted when the exclusion is off', series('a', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }), { modality: ['MR'], exclude: { localizer: false } }, null],
    ['derived accepted by default', series('a', { imageType: ['DERIVED', 'SECONDARY'] }), { modality: ['MR'] }, null],
    ['derived refused when the exclusion is on', series('a', { imageType: ['DERIVED', 'SECONDARY'] }), { modality: ['MR'], exclude: { derived: true } }, /series is derived/],
    ['secondary capture', series('a', {}, 20, { sopClassUid: '1.2.840.10008.5.1.4.1.1.7' }), { modality: ['MR'] }, /secondary capture/],
    ['multi-frame secondary capture', series('a', {}, 20, { sopClassUid: '1.2.840.10008.5.1.4.1.1.7.4' }), { modality: ['MR'] }, /secondary capture/],
    ['SOP class …1.1.77 is not a secondary capture', series('a', {}, 20, { sopClassUid: '1.2.840.10008.5.1.4.1.1.77.1.4' }), { modality: ['MR'] }, null],
    ['secondary capture accepted when the exclusion is off', series('a', {}, 20, { sopClassUid: '1.2.840.10008.5.1.4.1.1.7' }), { modality: ['MR'], exclude: { secondaryCapture: false } }, null],
    ['SEG', series('a', { modality: 'SEG' }, 1, { sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4' }), { modality: ['SEG', 'RTSTRUCT'] }, /not an image series \(SEG\)/],
    ['RTSTRUCT', series('a', { modality: 'RTSTRUCT' }, 1, { sopClassUid: '1.2.840.10008.5.1.4.1.1.481.3' }), { modality: ['SEG', 'RTSTRUCT'] }, /not an image series/],
    ['SR under another modality', series('a', { modality: 'MR' }, 1, { sopClassUid: '1.2.840.10008.5.1.4.1.1.88.22' }), { modality: ['MR'] }, /not an image series/],
    ['SEG accepted when non-images are allowed', series('a', { modality: 'SEG' }, 1, { sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4' }), { modality: ['SEG'], exclude: { nonImage: false } }, null],
  ])('when %s, then the verdict says so', (_name, s, select, expected) => {
    const reasons = rejectReasons(s, select);
    if (expected === null) expect(reasons).toEqual([]);
    else expect(reasons.join('; ')).toMatch(expected);
  });

  it('when several conditions fail, then each has its own reason', () => {
    const reasons = rejectReasons(series('a', { modality: 'CT', imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }, 3), { modality: ['MR'], minSlices: 16 });
    expect(reasons).toEqual(['Modality CT does not match MR', 'series is a localizer (ImageType LOCALIZER)', '3 slices < minimum 16']);
  });
});

describe('selectSeries: which series of a study a model runs on', () => {
  it('when a localizer and two candidate series exist, then the one with most slices is chosen', () => {
    const r = selectSeries(
      study([series('loc', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }, 150), series('thin', {}, 120), series('thick', {}, 30)]),
      only({ modality: ['MR'], minSlices: 16 }),
    );
    expect(r.chosen?.seriesInstanceUid).toBe('thin');
    expect(r.verdicts.map((v) => [v.seriesInstanceUid, v.accepted, v.chosen])).toEqual([
      ['loc', false, false],
      ['thin', true, true],
      ['thick', true, false],
    ]);
    expect(r.verdicts[0]?.reasons).toEqual(['series is a localizer (ImageType LOCALIZER)']);
  });

  it('when thinnest slices are preferred, then the thin series wins over the one with more slices', () => {
    const s = study([series('many', { sliceThickness: 3 }, 60), series('fine', { sliceThickness: 1 }, 40), series('unknown', {}, 80, { iop: AXIAL })]);
    // "unknown" has no SliceThickness: its positions are 2 mm apart, so it ranks between the two.
    const r = selectSeries(s, only({ modality: ['MR'], prefer: 'thinnest-slices', matches: 'all' }));
    expect(r.series.map((x) => x.seriesInstanceUid)).toEqual(['fine', 'unknown', 'many']);
    expect(selectSeries(s, only({ modality: ['MR'] })).chosen?.seriesInstanceUid).toBe('unknown');
  });

  it('when candidates tie on slices, then the lower SeriesNumber wins regardless of listing order', () => {
    const a = series('1.9', { seriesNumber: 7 });
    const b = series('1.1', { seriesNumber: 3 });
    expect(selectSeries(study([a, b]), only({ modality: ['MR'] })).chosen?.seriesInstanceUid).toBe('1.1');
    expect(selectSeries(study([b, a]), only({ modality: ['MR'] })).chosen?.seriesInstanceUid).toBe('1.1');
  });

  it('when candidates tie on slices and SeriesNumber, then the smaller UID in code-point order wins', () => {
    const a = series('1.10', { seriesNumber: 2 });
    const b = series('1.9', { seriesNumber: 2 });
    expect(selectSeries(study([b, a]), only({ modality: ['MR'] })).chosen?.seriesInstanceUid).toBe('1.10');
  });

  it('when matches is all, then every accepted series is taken in preference order', () => {
    const r = selectSeries(study([series('a', {}, 20), series('b', {}, 40), series('c', { modality: 'CT' }, 50)]), only({ modality: ['MR'], matches: 'all' }));
    expect(r.series.map((s) => s.seriesInstanceUid)).toEqual(['b', 'a']);
    expect(r.verdicts.filter((v) => v.chosen).map((v) => v.seriesInstanceUid)).toEqual(['a', 'b']);
  });

  it('when a study condition fails, then no series is taken and the study reason is given', () => {
    const r = selectSeries(study([series('a')], { studyDescription: 'KNEE MRI' }), only({ modality: ['MR'], study: { StudyDescription: { regex: 'brain|head' } } }));
    expect(r.chosen).toBeUndefined();
    expect(r.studyReasons).toEqual(['StudyDescription KNEE MRI does not match /brain|head/i']);
    expect(r.verdicts[0]?.accepted).toBe(true);
    expect(r.verdicts[0]?.chosen).toBe(false);
  });

  it('when study conditions test the intake event and the other series, then they see both', () => {
    const s = study([series('a'), series('b', { modality: 'PT', stationName: 'PET1' })]);
    const select: SeriesSelection = { modality: ['MR'], study: { ModalitiesInStudy: ['PT'], StationName: ['pet1'], Source: ['cstore'], CallingAETitle: ['SCANNER1'], NumberOfSeries: '>= 2' } };
    expect(selectSeries(s, only(select), { source: 'cstore', callingAeTitle: 'SCANNER1' }).chosen?.seriesInstanceUid).toBe('a');
    expect(selectSeries(s, only(select), { source: 'orthanc' }).studyReasons).toEqual(['Source orthanc does not match cstore', 'CallingAETitle (none) does not match SCANNER1']);
  });

  it('when no series matches, then nothing is chosen and every series has reasons', () => {
    const r = selectSeries(study([series('a', { modality: 'SEG' }, 1, { sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4' })]), only({ modality: ['MR'], minSlices: 16 }));
    expect(r.chosen).toBeUndefined();
    expect(r.verdicts[0]?.reasons).toEqual(['Modality SEG does not match MR', 'series is not an image series (SEG)', '1 slices < minimum 16']);
  });
});
