import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { classificationContext, segmentationContext } from '../../test/support/fhir-contexts';
import { describeIssues, fhirErrors } from '../../test/support/fhir-validate';
import { buildResultBundle } from './bundle';
import { SEG_SOP_INSTANCE_UID_EXTENSION } from './observation';

function resources<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
}

/** Every "urn:uuid:…" string anywhere in the resources. */
function uuidReferences(bundle: Bundle): string[] {
  return [...JSON.stringify(bundle.entry?.map((e) => e.resource)).matchAll(/"reference":"(urn:uuid:[^"]+)"/g)].map(
    (m) => m[1] ?? '',
  );
}

describe('buildResultBundle', () => {
  it.each([
    ['segmentation', segmentationContext()],
    ['classification', classificationContext()],
  ])('when building a %s result, then every resource passes R4 validation with 0 errors', (_kind, ctx) => {
    const bundle = buildResultBundle(ctx);
    expect(describeIssues(fhirErrors(bundle))).toBe('');
    for (const entry of bundle.entry ?? []) {
      expect(`${entry.resource?.resourceType}: ${describeIssues(fhirErrors(entry.resource as Resource))}`).toBe(
        `${entry.resource?.resourceType}: `,
      );
    }
  });

  it('when a resource breaks R4 (missing required element, malformed dateTime), then the validator helper reports both', () => {
    const [report] = resources<DiagnosticReport>(buildResultBundle(segmentationContext()), 'DiagnosticReport');
    const broken = { ...report, issued: '15.03.2024', code: undefined } as unknown as Resource;
    const paths = fhirErrors(broken).map((i) => i.expression?.[0]);
    expect(paths).toContain('DiagnosticReport.code');
    expect(paths).toContain('DiagnosticReport.issued');
  });

  it('when building, then it is a transaction of conditional creates whose urn:uuid references all resolve in it', () => {
    const bundle = buildResultBundle(segmentationContext());
    expect(bundle.type).toBe('transaction');
    const fullUrls = new Set(bundle.entry?.map((e) => e.fullUrl));
    for (const entry of bundle.entry ?? []) {
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(entry.request).toMatchObject({ method: 'POST', url: entry.resource?.resourceType });
      expect(entry.request?.ifNoneExist).toBeTruthy();
    }
    expect(uuidReferences(bundle).length).toBeGreaterThan(10);
    for (const ref of uuidReferences(bundle)) expect(fullUrls.has(ref)).toBe(true);
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Patient', 'Device', 'Endpoint', 'ImagingStudy', 'Observation', 'Observation', 'DiagnosticReport', 'Provenance',
    ]);
  });

  it('when the same context is built twice, then the bundles are identical (deterministic ids and identifiers)', () => {
    expect(JSON.stringify(buildResultBundle(segmentationContext()))).toBe(JSON.stringify(buildResultBundle(segmentationContext())));
    expect(buildResultBundle(segmentationContext()).entry?.[0]?.fullUrl).not.toBe(
      buildResultBundle(classificationContext()).entry?.[0]?.fullUrl,
    );
  });

  it('when the study has a SEG, then ImagingStudy lists the SEG instance with the R4 sopClass coding', () => {
    const ctx = segmentationContext();
    const [study] = resources<ImagingStudy>(buildResultBundle(ctx), 'ImagingStudy');
    expect(study?.identifier?.[0]).toEqual({ system: 'urn:dicom:uid', value: `urn:oid:${ctx.study.studyInstanceUid}` });
    const seg = study?.series?.find((s) => s.modality.code === 'SEG');
    expect(seg?.uid).toBe(ctx.findings.kind === 'segmentation' ? ctx.findings.segSeriesInstanceUid : '');
    expect(seg?.instance?.[0]?.sopClass).toEqual({ system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.66.4' });
    expect(study?.series?.[0]?.uid).toBe(ctx.seriesInstanceUid);
    expect(study?.endpoint).toHaveLength(1);
  });

  it('when segments are found, then each has a volume Observation in mL that names its SEG instance and segment', () => {
    const ctx = segmentationContext();
    const observations = resources<Observation>(buildResultBundle(ctx), 'Observation');
    expect(observations).toHaveLength(2);
    const [brain] = observations;
    expect(brain?.valueQuantity).toEqual({ value: 1200.457, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' });
    const referenced = brain?.component?.find((c) => c.code.coding?.[0]?.code === '121191');
    expect(referenced?.valueInteger).toBe(1);
    const segSop = ctx.findings.kind === 'segmentation' ? ctx.findings.segSopInstanceUid : '';
    expect(referenced?.extension).toEqual([{ url: SEG_SOP_INSTANCE_UID_EXTENSION, valueOid: `urn:oid:${segSop}` }]);
    expect(brain?.category?.[0]?.coding?.[0]?.code).toBe('imaging');
  });

  it('when classes are scored, then each has a probability Observation (UCUM "1") with a POS/NEG interpretation', () => {
    const observations = resources<Observation>(buildResultBundle(classificationContext()), 'Observation');
    expect(observations.map((o) => [o.valueQuantity?.value, o.valueQuantity?.code, o.interpretation?.[0]?.coding?.[0]?.code])).toEqual([
      [0.87, '1', 'POS'],
      [0.02, '1', 'NEG'],
    ]);
    expect(observations[0]?.code.coding?.[0]).toMatchObject({ system: 'http://snomed.info/sct', code: '50960005' });
  });

  it('when building the report, then it carries status, LOINC category/code, study date, conclusion and a text form', () => {
    const ctx = segmentationContext();
    const [report] = resources<DiagnosticReport>(buildResultBundle(ctx), 'DiagnosticReport');
    expect(report?.status).toBe('preliminary');
    expect(report?.category?.[0]?.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: 'LP29684-5' });
    expect(report?.code.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '18748-4' });
    expect(report?.effectiveDateTime).toBe('2024-03-15');
    expect(report?.issued).toBe('2024-03-15T14:00:00.000Z');
    expect(report?.identifier?.[0]).toEqual({ system: 'urn:clinical-ai:job', value: ctx.idempotencyKey });
    expect(report?.result).toHaveLength(2);
    expect(report?.conclusion).toMatch(/^NOT FOR CLINICAL USE\n.*Brain: 1200\.5 mL/);
    const text = Buffer.from(report?.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8');
    expect(text).toContain('*** NOT FOR CLINICAL USE ***');
    expect(text).toContain('Lesion: 1.5 mL (segment 2)');
    expect(text).not.toContain('Testpatient');
  });

  it('when the PACS time zone is known, then effectiveDateTime has the study time; without a study date, issued', () => {
    const withZone = { ...segmentationContext(), studyTimezoneOffset: '+01:00' };
    expect(resources<DiagnosticReport>(buildResultBundle(withZone), 'DiagnosticReport')[0]?.effectiveDateTime).toBe(
      '2024-03-15T13:45:01.25+01:00',
    );
    const noDate = segmentationContext();
    delete noDate.study.studyDate;
    expect(resources<DiagnosticReport>(buildResultBundle(noDate), 'DiagnosticReport')[0]?.effectiveDateTime).toBe(
      '2024-03-15T14:00:00.000Z',
    );
  });

  it('when the study has PatientID and issuer, then the Patient is matched on them; without an issuer, the default system', () => {
    const ctx = segmentationContext();
    const bundle = buildResultBundle(ctx);
    const [patient] = resources<Patient>(bundle, 'Patient');
    expect(patient?.identifier?.[0]).toEqual({ system: 'urn:dicom:issuer:SYNTHETIC%20HOSPITAL', value: 'SYN-0001' });
    expect(patient).toMatchObject({ birthDate: '1970-01-31', gender: 'female', name: [{ family: 'Testpatient', given: ['Synthia', 'M'] }] });
    expect(bundle.entry?.[0]?.request?.ifNoneExist).toBe(
      `identifier=${encodeURIComponent('urn:dicom:issuer:SYNTHETIC%20HOSPITAL|SYN-0001')}`,
    );
    delete ctx.study.issuerOfPatientId;
    expect(resources<Patient>(buildResultBundle(ctx), 'Patient')[0]?.identifier?.[0]?.system).toBe('urn:clinical-ai:patient-id');
    delete ctx.study.patientId;
    expect(resources<Patient>(buildResultBundle(ctx), 'Patient')[0]?.identifier?.[0]).toEqual({
      system: 'urn:clinical-ai:study-patient',
      value: `urn:oid:${ctx.study.studyInstanceUid}`,
    });
  });
});
