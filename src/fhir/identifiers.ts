import { createHash } from 'node:crypto';
import type { Identifier } from '@medplum/fhirtypes';

/**
 * Identifier systems we write. Every identifier of a result resource derives from the job's idempotency key, so a
 * retried or duplicated job finds (ifNoneExist) what an earlier attempt wrote instead of writing a second copy.
 */
export const SYSTEMS = {
  /** DiagnosticReport: value = the idempotency key; Observations: key + "/" + a stable suffix. Provenance tag. */
  job: 'urn:clinical-ai:job',
  /** DiagnosticReport, second identifier: value = the result lineage (study + series + model), shared by revisions. */
  lineage: 'urn:clinical-ai:result-lineage',
  /** The model as a Device: value = "<model id>@<version>". */
  model: 'urn:clinical-ai:model',
  /** The model file digest (a second Device identifier; not used for matching). */
  modelDigest: 'urn:clinical-ai:model-digest',
  /** PatientID when the study has no IssuerOfPatientID (an unqualified local id). */
  patientIdDefault: 'urn:clinical-ai:patient-id',
  /** Studies without any PatientID get a placeholder Patient keyed by the study UID (ImagingStudy.subject is 1..1). */
  studyPatient: 'urn:clinical-ai:study-patient',
  /** DICOMweb Endpoint: value = its base URL. */
  endpoint: 'urn:clinical-ai:dicomweb-endpoint',
  /** DICOM UIDs, per FHIR R4 ImagingStudy: value "urn:oid:<uid>". */
  dicomUid: 'urn:dicom:uid',
} as const;

/** PatientID qualified by IssuerOfPatientID: "urn:dicom:issuer:<issuer, percent-encoded>". */
export function patientIdentifierSystem(issuerOfPatientId: string | undefined): string {
  const issuer = issuerOfPatientId?.trim();
  return issuer ? `urn:dicom:issuer:${encodeURIComponent(issuer)}` : SYSTEMS.patientIdDefault;
}

/** A name-based (v5-style) UUID from the key and a purpose: the same inputs always give the same urn:uuid. */
export function deterministicUuid(key: string, purpose: string): string {
  const bytes = createHash('sha256').update(`fhir:${purpose}:${key}`).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function fullUrlFor(key: string, purpose: string): string {
  return `urn:uuid:${deterministicUuid(key, purpose)}`;
}

export function studyIdentifier(studyInstanceUid: string): Identifier {
  return { system: SYSTEMS.dicomUid, value: `urn:oid:${studyInstanceUid}` };
}

/**
 * A token search value "system|value" for a query string. FHIR search escapes "\", "|", "," and "$" inside a
 * value with a backslash; the result is percent-encoded for the URL.
 */
export function tokenQuery(identifier: { system?: string; value?: string }): string {
  const escape = (s: string): string => s.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return encodeURIComponent(`${escape(identifier.system ?? '')}|${escape(identifier.value ?? '')}`);
}

export function identifierQuery(identifier: Identifier): string {
  return `identifier=${tokenQuery(identifier)}`;
}
