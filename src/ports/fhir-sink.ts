import type { Bundle, DiagnosticReport, Observation } from '@medplum/fhirtypes';

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
  /** DiagnosticReports (with their Observations) that reference the ImagingStudy of this StudyInstanceUID. */
  reportsForStudy(studyInstanceUid: string): Promise<StudyReports>;
  ping(): Promise<void>;
}
