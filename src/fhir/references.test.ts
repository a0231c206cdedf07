import { relativeReference } from './references';

describe('relativeReference', () => {
  it.each([
    ['Observation/1', 'Observation/1'],
    ['http://server/fhir/Observation/1', 'Observation/1'],
    ['https://x/fhir/ImagingStudy/abc-1.2/_history/3', 'ImagingStudy/abc-1.2'],
    ['urn:uuid:3f2a', undefined],
    ['#contained', undefined],
    ['Observation/' + 'a'.repeat(65), undefined],
    [undefined, undefined],
  ])('when the reference is %s, then the relative reference is %s', (reference, expected) => {
    expect(relativeReference(reference)).toBe(expected);
  });
});
