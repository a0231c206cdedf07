import type { Bundle, DiagnosticReport, Observation, Resource } from '@medplum/fhirtypes';

export interface StudyReports {
  reports: DiagnosticReport[];
  observations: Observation[];
}

/** Where FHIR results are written and read back: a FHIR server, the embedded store, or a folder. */
export interface FhirSink {
  /**
   * Posts one transaction Bundle (conditional creates with ifNoneExist) and returns the server's response Bundle.
   * Calls with the same idempotency key are serialised by the implementation.
   */
  writeTransaction(idempotencyKey: string, bundle: Bundle): Promise<Bundle>;
  /**
   * Read-modify-write of one resource ("Type/id") with optimistic locking (If-Match on its version), retried when
   * another writer got there first. `change` returns the new resource, or undefined to leave it as it is.
   */
  updateResource<T extends Resource>(reference: string, change: (current: T) => T | undefined | Promise<T | undefined>): Promise<void>;
  /** DiagnosticReports (with their Observations) that reference the ImagingStudy of this StudyInstanceUID. */
  reportsForStudy(studyInstanceUid: string): Promise<StudyReports>;
  ping(): Promise<void>;
}
