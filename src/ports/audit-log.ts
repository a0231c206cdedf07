import type { Principal } from '../domain/principal';

/**
 * What happened to patient data, in the terms of IHE BALP (Basic Audit Log Patterns); src/audit turns each record
 * into a FHIR R4 AuditEvent. Audit records may carry identifiers (study UID, report reference); application logs
 * never do.
 */
export type AuditAction =
  /** The service retrieved a study's instances from the PACS (BALP "Query"/"Read" of a study, DICOM transfer). */
  | 'study-retrieved'
  /** A DICOM object (SEG) was stored to the PACS. */
  | 'dicom-stored'
  /** A DICOM object (superseded SEG) was deleted from the PACS. */
  | 'dicom-deleted'
  /** A DiagnosticReport bundle was written to the FHIR server. */
  | 'report-written'
  /** An earlier report was marked entered-in-error by a newer result. */
  | 'report-superseded'
  /** A caller read patient data through the API (reports, jobs, embedded FHIR). */
  | 'api-read'
  /** A caller changed data through the API (embedded FHIR write, STOW-RS, job retry). */
  | 'api-write'
  /** A caller was refused: no or bad credentials (401) or the wrong role (403). */
  | 'access-refused';

export type AuditOutcome = 'success' | 'minor-failure' | 'serious-failure';

/** The FHIR REST interaction of an API event (BALP's subtype); derived from the action and entities when absent. */
export type RestInteraction = 'read' | 'search' | 'create' | 'update' | 'delete' | 'transaction';

export interface AuditRecord {
  /**
   * The event's id (a UUID, becomes AuditEvent.id). Set once by the audit trail before any sink sees the record, so
   * the file line and the FHIR copy carry the same id and a redelivery overwrites instead of duplicating.
   */
  id?: string;
  action: AuditAction;
  /** api-read / api-write / access-refused: the REST interaction that was asked for. */
  interaction?: RestInteraction;
  /** access-refused: no or bad credentials (401, 429 lock-out) or a known caller without the role (403). */
  refusal?: 'authentication' | 'authorization';
  /** ISO 8601 instant the event happened. */
  recorded: string;
  outcome: AuditOutcome;
  /** Short reason for a failure outcome (no patient data). */
  outcomeDescription?: string;
  /** Who: the API caller, or the service itself (kind 'service') for pipeline actions. */
  agent: Principal;
  /** What: the study (StudyInstanceUID), DICOM object (SOPInstanceUID), FHIR resource ("Type/id"), or API path. */
  entities: Array<{ kind: 'study' | 'dicom-instance' | 'fhir-resource' | 'query' | 'job'; id: string; description?: string }>;
  /** The other system involved (PACS or FHIR base URL without credentials, HTTP route). */
  destination?: string;
  /** Patient, when the service knows it (FHIR "Patient/id" or DICOM PatientID), for BALP's patient participant. */
  patient?: string;
}

/** Append-only, durable: record() returns once the event is safely queued, even while the audit server is down. */
export interface AuditLog {
  record(event: AuditRecord): Promise<void>;
}
