import { findLeaks, patientForms, secretsOfEnv, SYNTHETIC_PATIENT } from './log-capture';

/** The e2e log check must be able to fail: each kind of leak it looks for is found, and nothing else is. */
describe('log leak check', () => {
  const forbidden = [...patientForms(SYNTHETIC_PATIENT), ...secretsOfEnv({ CLINICAL_AI_PACS_USERNAME: 'orthanc', CLINICAL_AI_PACS_PASSWORD: 'pw-s3cret', CLINICAL_AI_FHIR_TOKEN: 'tok-abcdef' })];
  const check = (line: string): string[] => findLeaks([{ file: 'f.log', lines: [line] }], forbidden).map((l) => l.kind);

  it('when a line carries the synthetic name, ID or birth date (DICOM or FHIR spelling), then it is a leak', () => {
    expect(check('{"msg":"x","name":"LEAKCHECK^SYNTHETIA"}')).toEqual(['patient name']);
    expect(check('{"family":"LEAKCHECK"}')).toEqual(['patient family name']);
    expect(check(`{"pid":"${SYNTHETIC_PATIENT.id}"}`)).toEqual(['patient id']);
    expect(check('{"birthDate":"1923-04-17"}')).toEqual(['patient birth date']);
    expect(check('{"dob":"19230417"}')).toEqual(['patient birth date']);
  });

  it('when a line carries a configured secret or the Basic header made of it, then it is a leak', () => {
    expect(check('{"err":"401 for pw-s3cret"}')).toEqual(['CLINICAL_AI_PACS_PASSWORD']);
    expect(check(`{"authorization":"Basic ${Buffer.from('orthanc:pw-s3cret').toString('base64')}"}`)).toEqual(['PACS Basic authorization']);
    expect(check('{"h":"Bearer tok-abcdef"}')).toEqual(['CLINICAL_AI_FHIR_TOKEN']);
  });

  it('when a line carries a study UID in clear, then it is a leak; standard UIDs, hashes and numbers are not', () => {
    expect(check('{"study":"2.25.123456789.1.2"}')).toEqual(['UID in clear']);
    expect(check('{"ts":"1.2.840.10008.1.2.1","study":"3fa4b1c2d9e0","time":1719230417000,"host":"127.0.0.1","v":"1.30.0"}')).toEqual([]);
  });

  it('when a leak is reported, then the report masks the value it found', () => {
    const [leak] = findLeaks([{ file: 'f.log', lines: ['{"name":"LEAKCHECK^SYNTHETIA","study":"2.25.99.1.2.3"}'] }], forbidden);
    expect(leak?.excerpt).toBe('{"name":"<patient name>","study":"<UID>"}');
  });

  it('when API keys are configured, then their hashes are secrets too', () => {
    const sha = 'a'.repeat(64);
    expect(secretsOfEnv({ CLINICAL_AI_AUTH_API_KEYS: JSON.stringify([{ id: 'ops', sha256: sha, roles: ['viewer'] }]) })).toEqual([{ kind: 'CLINICAL_AI_AUTH_API_KEYS sha256', value: sha }]);
  });
});
