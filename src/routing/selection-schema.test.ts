import { readFileSync } from 'node:fs';
import path from 'node:path';
import { manifestProblems } from '../models/registry';

/** A committed manifest as the base, so only the select block varies. */
const base = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'models', 'brain-mask-2d', 'manifest.json'), 'utf8')) as Record<string, unknown>;
const withSelect = (select: unknown): unknown => ({ ...base, select });

describe('manifest schema: the select block', () => {
  it.each<[string, unknown]>([
    ['the original form', { modality: ['MR'], bodyPartExamined: ['HEAD'], seriesDescription: 't1', minSlices: 16 }],
    ['string conditions of every shape', { modality: ['MR', '!PT'], bodyPartExamined: ['HEAD', '!KNEE'], series: { Modality: { regex: '^m' }, BodyPartExamined: { regex: '^head' }, ImageType: ['!LOCALIZER', { regex: 'mpr', not: true }] } }],
    ['number conditions of every shape', { modality: ['CT'], series: { SliceThickness: '<= 1.5', PixelSpacing: [0.3, 1], SeriesNumber: 2, Rows: '>=256' } }],
    ['study conditions', { modality: ['MR'], study: { StudyDescription: { regex: 'brain' }, NumberOfSeries: '> 1', CallingAETitle: 'MR1' } }],
    ['orientation, exclusions, preference and matches', { modality: ['MR'], orientation: ['axial', 'oblique'], orientationToleranceDegrees: 10, exclude: { derived: true, localizer: false }, prefer: 'thinnest-slices', matches: 'all' }],
  ])('when the select block uses %s, then it is valid', (_name, select) => {
    expect(manifestProblems(withSelect(select))).toEqual({ valid: true, problems: [] });
  });

  it.each<[string, unknown, string]>([
    ['modality is missing', { minSlices: 3 }, '/select must have required property \'modality\''],
    ['an attribute is unknown', { modality: ['MR'], series: { SliceThikness: 1 } }, '/select/series has unknown property "SliceThikness"'],
    ['a regex term has an unknown key', { modality: ['MR'], series: { SeriesDescription: { regexp: 't1' } } }, '/select/series/SeriesDescription has unknown property "regexp"'],
    ['a comparison is malformed', { modality: ['MR'], series: { SliceThickness: 'about 2' } }, '/select/series/SliceThickness must match pattern'],
    ['a range has three numbers', { modality: ['MR'], series: { Rows: [1, 2, 3] } }, '/select/series/Rows must NOT have more than 2 items'],
    ['a string condition is a number', { modality: [3] }, '/select/modality/0 must be string'],
    ['an empty list', { modality: [] }, '/select/modality must NOT have fewer than 1 items'],
    ['a plane is unknown', { modality: ['MR'], orientation: 'transverse' }, '/select/orientation must be one of "axial", "sagittal", "coronal", "oblique"'],
    ['a preference is unknown', { modality: ['MR'], prefer: 'newest' }, '/select/prefer must be one of "most-slices", "thinnest-slices"'],
    ['matches is unknown', { modality: ['MR'], matches: 'any' }, '/select/matches must be one of "first", "all"'],
    ['an exclusion flag is unknown', { modality: ['MR'], exclude: { scouts: true } }, '/select/exclude has unknown property "scouts"'],
    ['a regex does not compile', { modality: ['MR'], series: { SeriesDescription: ['T1', { regex: 't1(' }] } }, '/select/series/SeriesDescription/1/regex not a valid regular expression'],
    ['a regex could backtrack catastrophically', { modality: ['MR'], seriesDescription: '(a+)+b' }, '/select/seriesDescription regular expression has a nested quantifier'],
    ['a regex is too long', { modality: ['MR'], series: { Modality: { regex: 'x'.repeat(201) } } }, '/select/series/Modality/regex must NOT have more than 200 characters'],
    ['modality is one string instead of a list', { modality: 'MR' }, '/select/modality must be array'],
    ['a range is inverted', { modality: ['MR'], study: { NumberOfSeries: [5, 2] } }, '/select/study/NumberOfSeries range needs min <= max'],
  ])('when %s, then the manifest is rejected with the path in the message', (_name, select, message) => {
    const { problems } = manifestProblems(withSelect(select));
    expect(problems).toContainEqual(expect.stringContaining(message));
  });
});
