import { fhirDate, fhirDateTime, fhirTime } from './datetime';

describe('DICOM dates and times to FHIR', () => {
  it('when the DA is valid, then it becomes YYYY-MM-DD; when impossible or empty, undefined', () => {
    expect(fhirDate('20240229')).toBe('2024-02-29');
    expect(fhirDate('2024.03.01')).toBe('2024-03-01');
    expect(fhirDate('20230229')).toBeUndefined();
    expect(fhirDate('')).toBeUndefined();
    expect(fhirDate(undefined)).toBeUndefined();
  });

  it('when the TM is partial or has a fraction, then missing parts are zero and the fraction is kept', () => {
    expect(fhirTime('13')).toBe('13:00:00');
    expect(fhirTime('1345')).toBe('13:45:00');
    expect(fhirTime('134501.123456')).toBe('13:45:01.123456');
    expect(fhirTime('13:45:01')).toBe('13:45:01');
    expect(fhirTime('2561')).toBeUndefined();
  });

  it('when no valid offset is known, then the dateTime is the date alone (FHIR needs a zone with a time)', () => {
    expect(fhirDateTime('20240315', '134501', undefined)).toBe('2024-03-15');
    expect(fhirDateTime('20240315', '134501', 'local')).toBe('2024-03-15');
    expect(fhirDateTime('20240315', '134501', 'Z')).toBe('2024-03-15T13:45:01Z');
    expect(fhirDateTime('20240315', undefined, '+02:00')).toBe('2024-03-15');
    expect(fhirDateTime(undefined, '134501', 'Z')).toBeUndefined();
  });
});
