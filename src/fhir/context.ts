import type { Findings } from '../domain/findings';
import type { ModelManifest } from '../domain/manifest';
import type { StudyInfo } from '../domain/study';
import { fullUrlFor } from './identifiers';

/** Everything needed to describe one job's result in FHIR. Builders are pure functions of it. */
export interface ResultContext {
  /** Deterministic identifiers and bundle fullUrls derive from it. */
  idempotencyKey: string;
  study: StudyInfo;
  /** The source series the model ran on. */
  seriesInstanceUid: string;
  model: ModelManifest;
  modelDigest: string;
  findings: Findings;
  reportStatus: 'preliminary' | 'final';
  issued: Date;
  /** Base URL of the PACS' DICOMweb service, written as an Endpoint referenced by ImagingStudy.endpoint. */
  dicomWebEndpoint?: string;
  /** E.g. "NOT FOR CLINICAL USE"; leads the conclusion and the presented text. */
  clinicalUseNotice?: string;
  /**
   * UTC offset of the PACS' local time ("Z", "+01:00"). DICOM times carry no zone and FHIR demands one with a time,
   * so without it effective/started carry the study date only.
   */
  studyTimezoneOffset?: string;
  /**
   * The report this result replaces ("DiagnosticReport/<id>"), when an earlier job of the same result lineage
   * wrote one: the report links to it and its Provenance names it as the revised entity (src/fhir/supersede.ts).
   */
  replaces?: string;
  /** The result lineage (src/domain/lineage.ts), written as a second report identifier to find every revision. */
  lineage?: string;
}

/** The in-bundle urn:uuid of each resource, deterministic per job (the same key gives the same bundle). */
export interface BundleRefs {
  patient: string;
  device: string;
  endpoint: string;
  imagingStudy: string;
  report: string;
  provenance: string;
  observation(index: number): string;
}

export function bundleRefs(key: string): BundleRefs {
  return {
    patient: fullUrlFor(key, 'patient'),
    device: fullUrlFor(key, 'device'),
    endpoint: fullUrlFor(key, 'endpoint'),
    imagingStudy: fullUrlFor(key, 'imaging-study'),
    report: fullUrlFor(key, 'report'),
    provenance: fullUrlFor(key, 'provenance'),
    observation: (index) => fullUrlFor(key, `observation-${index}`),
  };
}
