/** A unit of work: one model on one study (on the series the model selected). */
export type JobState =
  /** waiting for a worker (also after a retryable failure, once notBefore has passed) */
  | 'queued'
  /** a worker holds it; if the process dies, start-up puts it back to queued */
  | 'running'
  | 'succeeded'
  /** failed for good (not retryable, or out of attempts); kept with the reason */
  | 'failed';

/** The pipeline stages a job records, in order. */
export const STAGES = [
  'select',
  'retrieve',
  'decode',
  'volume',
  'infer',
  'encode',
  'store-seg',
  'write-fhir',
  /** results of older jobs of the same lineage retired (docs/decisions/0009-supersede-policy.md) */
  'supersede',
] as const;
export type Stage = (typeof STAGES)[number];

export interface JobResult {
  segSopInstanceUid?: string;
  segSeriesInstanceUid?: string;
  /** FHIR DiagnosticReport id as assigned by the server (or identifier value when written to a file). */
  reportId?: string;
  /** Paths when results were written to a folder. */
  segPath?: string;
  bundlePath?: string;
  /**
   * Id of the job whose result is current for this job's lineage, when it is not this one: a newer job of the same
   * study, series and model was already current, so this result was not written or was retired at once.
   */
  supersededBy?: string;
  /** Human-readable summary of findings (no patient data). */
  summary?: string;
}

/** What the router decides: everything needed to create a job, before it exists. */
export interface JobSpec {
  idempotencyKey: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** Sorted SOP Instance UIDs of the instances the model runs on. */
  instanceUids: string[];
  modelId: string;
  modelVersion: string;
  modelDigest: string;
  /** Intake that produced it ("orthanc", "folder", …) and its handle. */
  source: string;
  sourceRef?: string;
}

/** A job as stored: the router's spec plus its progress. */
export interface Job extends JobSpec {
  id: string;
  state: JobState;
  attempts: number;
  /** Last stage reached (for diagnosis and resume). */
  stage?: Stage;
  lastError?: { code: string; message: string; retryable: boolean };
  /** ISO time before which a queued job is not taken (backoff). */
  notBefore?: string;
  result?: JobResult;
  createdAt: string;
  updatedAt: string;
}
