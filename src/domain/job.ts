/** A unit of work: one model on one study (on the series the model selected). */
export type JobState =
  /** waiting for a worker (also after a retryable failure, once notBefore has passed) */
  | 'queued'
  /**
   * waiting out an outage of a dependency (`waitingFor`): taken again as soon as that dependency answers; the wait
   * spends no attempt (docs/reliability.md)
   */
  | 'waiting'
  /** a worker holds it; if the process dies, start-up puts it back to queued (an interruption, not an attempt) */
  | 'running'
  | 'succeeded'
  /** failed for good (not retryable, out of attempts, or an outage longer than allowed); kept with the reason */
  | 'failed';

export const JOB_STATES: readonly JobState[] = ['queued', 'waiting', 'running', 'succeeded', 'failed'];

/** The job has not ended: it will still run (queued, waiting out an outage) or is running. */
export function isUnfinished(job: { state: JobState }): boolean {
  return job.state === 'queued' || job.state === 'waiting' || job.state === 'running';
}

/** Outside systems whose outage pauses jobs instead of failing them (src/resilience/). */
export type Dependency = 'pacs' | 'fhir';
export const DEPENDENCIES: readonly Dependency[] = ['pacs', 'fhir'];

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
  /**
   * Runs that counted: the current or last run plus failures that belong to the job (bad data, model errors,
   * rejections). Outage waits and process crashes give their run back.
   */
  attempts: number;
  /** Times the process stopped while this job ran (crash, kill, grace period over); parked after workers.maxInterruptions. */
  interruptions: number;
  /** The dependency whose outage the job waits out (state waiting), or last waited out. */
  waitingFor?: Dependency;
  /** ISO time the current outage wait began; a wait longer than outage.maxAgeMs fails the job. */
  waitingSince?: string;
  /** Last stage reached (for diagnosis and resume). */
  stage?: Stage;
  lastError?: { code: string; message: string; retryable: boolean };
  /** ISO time before which a queued job is not taken (backoff). */
  notBefore?: string;
  result?: JobResult;
  createdAt: string;
  updatedAt: string;
}

/**
 * Why a job is parked after the process stopped under it again and again: a crash that repeats on the same job is
 * most likely caused by it (a file that takes the decoder down), so it must not take the service down for ever.
 */
export function interruptedError(interruptions: number): { code: string; message: string; retryable: boolean } {
  return {
    code: 'INTERRUPTED',
    message: `the service stopped ${interruptions} times while running this job (crash, kill or shutdown); parked so it cannot stop the service again. Look at the study, then retry it (clinical-ai jobs retry)`,
    retryable: false,
  };
}
