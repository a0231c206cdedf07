import type { AuditEvent } from '@medplum/fhirtypes';
import { describeIssues, fhirErrors } from '../../test/support/fhir-validate';
import type { Principal } from '../domain/principal';
import type { AuditAction, AuditRecord } from '../ports/audit-log';
import { BALP_PROFILE, buildAuditEvent, SERVICE_PRINCIPAL, withoutCredentials } from './balp-audit-event';

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SEG = '2.25.123456789';
const viewer: Principal = { kind: 'oidc', subject: 'dr-who', issuer: 'https://idp.hospital.example/realms/ris', roles: ['viewer'], clientAddress: '10.1.2.3' };
const apiKey: Principal = { kind: 'api-key', subject: 'key-7', roles: ['sender'], clientAddress: '::ffff:10.1.2.4' };
const anonymous: Principal = { kind: 'anonymous', subject: 'anonymous', roles: [], clientAddress: '192.0.2.9' };
const options = { id: '6b1f7e0e-3a9c-4a8e-9d1e-0f4b2d5c7a11', observer: 'clinical-ai', site: 'ai-host-1', pacs: 'http://user:secret@pacs.example:8042/dicom-web', fhir: 'https://fhir.example/R4', api: 'http://127.0.0.1:8080' };

const base = { recorded: '2026-12-03T14:00:00.000Z', outcome: 'success' as const };
/** One record of every action, as the hooks write them. */
const RECORDS: Record<AuditAction, AuditRecord> = {
  'study-retrieved': { ...base, action: 'study-retrieved', agent: SERVICE_PRINCIPAL, entities: [{ kind: 'study', id: STUDY, description: '24 instances' }, { kind: 'job', id: 'job-1' }] },
  'dicom-stored': { ...base, action: 'dicom-stored', agent: SERVICE_PRINCIPAL, entities: [{ kind: 'study', id: STUDY }, { kind: 'dicom-instance', id: SEG, description: 'SEG' }], patient: 'urn:clinical-ai:patient-id|PAT-001' },
  'dicom-deleted': { ...base, action: 'dicom-deleted', agent: SERVICE_PRINCIPAL, entities: [{ kind: 'dicom-instance', id: SEG }] },
  'report-written': { ...base, action: 'report-written', agent: SERVICE_PRINCIPAL, entities: [{ kind: 'study', id: STUDY }, { kind: 'fhir-resource', id: 'DiagnosticReport/abc' }], patient: 'Patient/p1' },
  'report-superseded': { ...base, action: 'report-superseded', agent: SERVICE_PRINCIPAL, entities: [{ kind: 'fhir-resource', id: 'DiagnosticReport/old', description: 'entered-in-error' }, { kind: 'fhir-resource', id: 'DiagnosticReport/new' }] },
  'api-read': { ...base, action: 'api-read', agent: viewer, entities: [{ kind: 'study', id: STUDY }, { kind: 'query', id: `GET /studies/${STUDY}/reports` }] },
  'api-write': { ...base, action: 'api-write', interaction: 'create', agent: apiKey, entities: [{ kind: 'query', id: 'POST /dicomweb/studies' }] },
  'access-refused': { ...base, action: 'access-refused', outcome: 'minor-failure', outcomeDescription: 'HTTP 401', agent: anonymous, entities: [{ kind: 'query', id: 'GET /fhir/Patient' }] },
};

function valid(event: AuditEvent): void {
  const issues = fhirErrors(event);
  expect(describeIssues(issues)).toBe('');
}

describe('BALP AuditEvent builder', () => {
  it.each(Object.keys(RECORDS) as AuditAction[])('when the action is %s, then the AuditEvent is valid R4', (action) => {
    valid(buildAuditEvent(RECORDS[action], options));
  });

  it('when every action fails, then each failure is still a valid AuditEvent with outcome and no success profile', () => {
    for (const record of Object.values(RECORDS)) {
      const event = buildAuditEvent({ ...record, outcome: 'serious-failure', outcomeDescription: 'PACS_UNAVAILABLE' }, options);
      valid(event);
      expect(event.outcome).toBe('8');
      expect(event.outcomeDesc).toBe('PACS_UNAVAILABLE');
      expect(event.meta?.profile).toBeUndefined();
    }
  });

  it('when a study is read through the API, then it is a BALP Query by the token subject from its address, the study by UID', () => {
    const event = buildAuditEvent(RECORDS['api-read'], options);
    expect(event.meta?.profile).toEqual([`${BALP_PROFILE}Query`]);
    expect(event.type).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' });
    expect(event.subtype?.[0]?.code).toBe('search');
    expect(event.action).toBe('E');
    const user = event.agent.find((a) => a.requestor);
    expect(user?.who?.identifier).toEqual({ system: 'https://idp.hospital.example/realms/ris', value: 'dr-who' });
    expect(event.agent.find((a) => a.type?.coding?.[0]?.code === '110153')?.network).toEqual({ address: '10.1.2.3', type: '2' });
    expect(event.entity?.[0]?.what?.identifier).toEqual({ system: 'urn:dicom:uid', value: `urn:oid:${STUDY}` });
    expect(Buffer.from(event.entity?.[1]?.query ?? '', 'base64').toString()).toBe(`GET /studies/${STUDY}/reports`);
    expect(event.id).toBe(options.id);
  });

  it('when a report is written with a patient, then it is a BALP PatientCreate by the service against the FHIR server', () => {
    const event = buildAuditEvent(RECORDS['report-written'], options);
    expect(event.meta?.profile).toEqual([`${BALP_PROFILE}PatientCreate`]);
    expect(event.action).toBe('C');
    expect(event.agent[0]).toMatchObject({ requestor: true, who: { identifier: { value: 'clinical-ai' } }, type: { coding: [{ code: '110153' }] } });
    expect(event.agent[1]).toMatchObject({ requestor: false, network: { address: 'https://fhir.example/R4', type: '5' } });
    expect(event.entity?.find((e) => e.role?.code === '1')?.what).toEqual({ reference: 'Patient/p1' });
  });

  it('when a study is retrieved, then the PACS is the source without its credentials and the service the destination', () => {
    const event = buildAuditEvent(RECORDS['study-retrieved'], options);
    expect(event.type.code).toBe('110104');
    expect(event.action).toBe('R');
    expect(event.agent[0]).toMatchObject({ requestor: false, type: { coding: [{ code: '110153' }] }, network: { address: 'http://pacs.example:8042/dicom-web', type: '5' } });
    expect(JSON.stringify(event)).not.toContain('secret');
    expect(event.agent[1]).toMatchObject({ requestor: true, type: { coding: [{ code: '110152' }] } });
  });

  it('when a caller without credentials is refused, then it is a failed login; one with the wrong role a restricted function', () => {
    const refused = buildAuditEvent(RECORDS['access-refused'], options);
    expect([refused.type.code, refused.subtype?.[0]?.code, refused.outcome]).toEqual(['110114', '110122', '4']);
    expect(refused.agent.find((a) => a.requestor)?.network?.address).toBe('192.0.2.9');
    const forbidden = buildAuditEvent({ ...RECORDS['access-refused'], agent: viewer }, options);
    expect([forbidden.type.code, forbidden.subtype?.[0]?.code]).toEqual(['110113', '110132']);
    valid(forbidden);
  });

  it('when an AuditEvent breaks R4 (no observer, unknown outcome), then the validator used above says so', () => {
    const event = buildAuditEvent(RECORDS['api-read'], options);
    const broken = { ...event, outcome: '9', source: { site: 'x' } } as unknown as AuditEvent;
    expect(fhirErrors(broken).length).toBeGreaterThan(0);
  });

  it('when the record is built twice, then the resources are identical (redelivery is idempotent)', () => {
    expect(buildAuditEvent(RECORDS['dicom-stored'], options)).toEqual(buildAuditEvent(RECORDS['dicom-stored'], options));
  });

  it('when a URL carries user info or a query, then only scheme, host and path are kept', () => {
    expect(withoutCredentials('https://u:p@fhir.example/R4/?token=x#f')).toBe('https://fhir.example/R4');
  });
});
