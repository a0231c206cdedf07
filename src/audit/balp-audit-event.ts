import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding, Reference } from '@medplum/fhirtypes';

/** AuditEvent.agent.who: a reference to a person, device or organisation (ours carry identifiers only). */
type AgentReference = NonNullable<AuditEventAgent['who']>;
import type { Principal } from '../domain/principal';
import type { AuditAction, AuditOutcome, AuditRecord, RestInteraction } from '../ports/audit-log';

/**
 * AuditRecord → FHIR R4 AuditEvent, shaped after IHE BALP (Basic Audit Log Patterns, docs/audit.md has the table).
 * Pure: the same record and options always give the same resource, so the JSON-lines copy and the FHIR copy of an
 * event are identical and a redelivery is a no-op.
 */

export const BALP_PROFILE = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
/** Identifier systems of our own (URNs: stable, never resolved). */
export const AUDIT_SYSTEMS = {
  service: 'urn:clinical-ai:service',
  apiKey: 'urn:clinical-ai:api-key',
  clientCertificate: 'urn:clinical-ai:client-certificate',
  jobId: 'urn:clinical-ai:job-id',
  role: 'urn:clinical-ai:role',
  dicomUid: 'urn:dicom:uid',
} as const;

export interface AuditEventOptions {
  /** AuditEvent.id; the record's own id wins. */
  id?: string;
  /** Who observed and recorded the event: this service instance (source.observer). */
  observer?: string;
  /** Host the service runs on (source.site), e.g. os.hostname(). */
  site?: string;
  /** Base URLs of the systems on the other end, without credentials, used when the record names none. */
  pacs?: string;
  fhir?: string;
  /** The service's own API base URL (server agent of API events). */
  api?: string;
}

const dcm = (code: string, display: string): Coding => ({ system: DCM, code, display });
const ROLE_SOURCE = dcm('110153', 'Source Role ID');
const ROLE_DESTINATION = dcm('110152', 'Destination Role ID');
const REST_TYPE: Coding = { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' };

interface Shape {
  type: Coding;
  subtype?: Coding;
  action: NonNullable<AuditEvent['action']>;
  /** BALP profile name without the prefix; Patient-variant chosen when the record names a patient. */
  profile?: 'Read' | 'Query' | 'Create' | 'Update' | 'Delete';
  /** The service is the requestor (pipeline) and the other end is the PACS or the FHIR server. */
  peer?: 'pacs' | 'fhir';
  /** For peer events: true when data flows from the peer to us (we are the destination). */
  fromPeer?: boolean;
}

const INTERACTION_ACTION: Record<RestInteraction, Shape['action']> = { read: 'R', search: 'E', create: 'C', update: 'U', delete: 'D', transaction: 'E' };
const INTERACTION_PROFILE: Partial<Record<RestInteraction, Shape['profile']>> = { read: 'Read', search: 'Query', create: 'Create', update: 'Update', delete: 'Delete' };

function restShape(interaction: RestInteraction): Shape {
  const profile = INTERACTION_PROFILE[interaction];
  return {
    type: REST_TYPE,
    subtype: { system: RESTFUL, code: interaction, display: interaction },
    action: INTERACTION_ACTION[interaction],
    ...(profile ? { profile } : {}),
  };
}

/** What kind of event each action is: DICOM audit event ids for transfers, BALP RESTful patterns for FHIR/API. */
function shapeOf(record: AuditRecord): Shape {
  const action: AuditAction = record.action;
  switch (action) {
    case 'study-retrieved':
      return { type: dcm('110104', 'DICOM Instances Transferred'), action: 'R', peer: 'pacs', fromPeer: true };
    case 'dicom-stored':
      return { type: dcm('110104', 'DICOM Instances Transferred'), action: 'C', peer: 'pacs' };
    case 'dicom-deleted':
      return { type: dcm('110105', 'DICOM Study Deleted'), action: 'D', peer: 'pacs' };
    case 'report-written':
      return { ...restShape(record.interaction ?? 'create'), peer: 'fhir' };
    case 'report-superseded':
      return { ...restShape(record.interaction ?? 'update'), peer: 'fhir' };
    case 'api-read':
      return restShape(record.interaction ?? (record.entities.some((e) => e.kind === 'query') ? 'search' : 'read'));
    case 'api-write':
      return restShape(record.interaction ?? 'update');
    case 'access-refused':
      // No credentials or bad ones (401) is a failed login; a known caller without the role (403) used a
      // restricted function.
      return (record.refusal ?? (record.agent.kind === 'anonymous' ? 'authentication' : 'authorization')) === 'authentication'
        ? { type: dcm('110114', 'User Authentication'), subtype: dcm('110122', 'Login'), action: 'E' }
        : { type: dcm('110113', 'Security Alert'), subtype: dcm('110132', 'Use of Restricted Function'), action: 'E' };
  }
}

const OUTCOME: Record<AuditOutcome, NonNullable<AuditEvent['outcome']>> = { success: '0', 'minor-failure': '4', 'serious-failure': '8' };

function principalReference(p: Principal): AgentReference {
  switch (p.kind) {
    case 'oidc':
      return { identifier: { ...(p.issuer ? { system: p.issuer } : {}), value: p.subject }, display: p.subject };
    case 'api-key':
      return { identifier: { system: AUDIT_SYSTEMS.apiKey, value: p.subject }, display: `API key ${p.subject}` };
    case 'client-certificate':
      return { identifier: { system: AUDIT_SYSTEMS.clientCertificate, value: p.subject }, display: p.subject };
    case 'service':
      return { identifier: { system: AUDIT_SYSTEMS.service, value: p.subject }, display: p.subject };
    case 'anonymous':
      return { display: 'anonymous' };
  }
}

/** FHIR network address type: 2 = IP address, 5 = URI, 1 = machine name. */
function network(address: string | undefined): AuditEventAgent['network'] | undefined {
  if (!address) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return { address, type: '5' };
  if (/^[0-9.]+$|:/.test(address)) return { address, type: '2' };
  return { address, type: '1' };
}

/** A URL without user info, query or fragment: an audit record names the system, never its credentials. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

function agents(record: AuditRecord, shape: Shape, options: AuditEventOptions): AuditEventAgent[] {
  const who = record.agent;
  const roles = who.roles.length > 0 ? { role: who.roles.map((r) => ({ coding: [{ system: AUDIT_SYSTEMS.role, code: r }] })) } : {};
  const serviceRef: AgentReference = { identifier: { system: AUDIT_SYSTEMS.service, value: options.observer ?? 'clinical-ai' }, display: options.observer ?? 'clinical-ai' };
  if (shape.peer) {
    // Pipeline (or any service-initiated) transfer: DICOM's convention names the data's source and destination.
    const peerUrl = record.destination ?? (shape.peer === 'pacs' ? options.pacs : options.fhir);
    const us: AuditEventAgent = {
      type: { coding: [shape.fromPeer ? ROLE_DESTINATION : ROLE_SOURCE] },
      who: principalReference(who),
      requestor: true,
      ...roles,
      ...(who.clientAddress ? { network: network(who.clientAddress) } : {}),
    };
    const peerNetwork = peerUrl ? network(withoutCredentials(peerUrl)) : undefined;
    const peer: AuditEventAgent = {
      type: { coding: [shape.fromPeer ? ROLE_SOURCE : ROLE_DESTINATION] },
      who: { display: shape.peer === 'pacs' ? 'PACS' : 'FHIR server' },
      requestor: false,
      ...(peerNetwork ? { network: peerNetwork } : {}),
    };
    return shape.fromPeer ? [peer, us] : [us, peer];
  }
  // API access, BALP style: the user (when known), the client machine (Source Role ID) and this service as server.
  const out: AuditEventAgent[] = [];
  const known = who.kind !== 'anonymous';
  if (known) {
    out.push({ type: { coding: [{ system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }] }, who: principalReference(who), requestor: true, ...roles });
  }
  const clientNetwork = network(who.clientAddress);
  out.push({
    type: { coding: [ROLE_SOURCE] },
    who: known ? { display: who.clientAddress || 'client' } : principalReference(who),
    requestor: !known,
    ...(clientNetwork ? { network: clientNetwork } : {}),
  });
  const apiNetwork = options.api ? network(withoutCredentials(options.api)) : undefined;
  out.push({ type: { coding: [ROLE_DESTINATION] }, who: serviceRef, requestor: false, ...(apiNetwork ? { network: apiNetwork } : {}) });
  return out;
}

const entityType = (code: string, display: string): Coding => ({ system: ENTITY_TYPE, code, display });
const objectRole = (code: string, display: string): Coding => ({ system: OBJECT_ROLE, code, display });

function entity(e: AuditRecord['entities'][number]): AuditEventEntity {
  const description = e.description ? { description: e.description } : {};
  switch (e.kind) {
    case 'study':
    case 'dicom-instance':
      // DICOM's Participant Object for a study is a System Object in the Report role; R4 ImagingStudy writes UIDs
      // as urn:oid: values of the urn:dicom:uid system, and so do we.
      return {
        what: { identifier: { system: AUDIT_SYSTEMS.dicomUid, value: `urn:oid:${e.id}` } },
        type: entityType('2', 'System Object'),
        role: objectRole('3', 'Report'),
        ...description,
      };
    case 'fhir-resource':
      return { what: { reference: e.id }, type: entityType('2', 'System Object'), role: objectRole('4', 'Domain Resource'), ...description };
    case 'query':
      // BALP Query: the request as sent, base64 (sev-1: a query entity has no name).
      return { type: entityType('2', 'System Object'), role: objectRole('24', 'Query'), query: Buffer.from(e.id, 'utf8').toString('base64'), ...description };
    case 'job':
      return { what: { identifier: { system: AUDIT_SYSTEMS.jobId, value: e.id } }, type: entityType('2', 'System Object'), role: objectRole('20', 'Job'), ...description };
  }
}

function patientEntity(patient: string): AuditEventEntity {
  const bar = patient.indexOf('|');
  const what: Reference = /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(patient)
    ? { reference: patient }
    : { identifier: bar > 0 ? { system: patient.slice(0, bar), value: patient.slice(bar + 1) } : { value: patient } };
  return { what, type: entityType('1', 'Person'), role: objectRole('1', 'Patient') };
}

/** The R4 AuditEvent for one record (BALP profile in meta.profile where one fits). */
export function buildAuditEvent(record: AuditRecord, options: AuditEventOptions = {}): AuditEvent {
  const shape = shapeOf(record);
  const id = record.id ?? options.id;
  const profile = shape.profile && record.outcome === 'success' ? `${BALP_PROFILE}${record.patient ? `Patient${shape.profile}` : shape.profile}` : undefined;
  const entities = record.entities.map(entity);
  if (record.patient) entities.push(patientEntity(record.patient));
  return {
    resourceType: 'AuditEvent',
    ...(id ? { id } : {}),
    ...(profile ? { meta: { profile: [profile] } } : {}),
    type: shape.type,
    ...(shape.subtype ? { subtype: [shape.subtype] } : {}),
    action: shape.action,
    recorded: record.recorded,
    outcome: OUTCOME[record.outcome],
    ...(record.outcomeDescription ? { outcomeDesc: record.outcomeDescription } : {}),
    agent: agents(record, shape, options),
    source: {
      ...(options.site ? { site: options.site } : {}),
      observer: { identifier: { system: AUDIT_SYSTEMS.service, value: options.observer ?? 'clinical-ai' }, display: options.observer ?? 'clinical-ai' },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    ...(entities.length > 0 ? { entity: entities } : {}),
  };
}

/** The service itself as the agent of pipeline events. */
export const SERVICE_PRINCIPAL: Principal = { kind: 'service', subject: 'clinical-ai', roles: [], clientAddress: '' };
