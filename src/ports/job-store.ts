import type { Job, JobResult, JobSpec, JobState, Stage } from '../domain/job';

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
}

/** Durable job queue keyed by idempotency key; also keeps intake cursors. */
export interface JobStore {
  /** Creates a queued job unless one with the same idempotency key exists (then returns that one, created=false). */
  enqueue(spec: JobSpec): Promise<{ job: Job; created: boolean }>;
  /** Atomically takes the oldest queued job whose notBefore has passed: state → running, attempts + 1. */
  claimNext(now: Date): Promise<Job | undefined>;
  recordStage(jobId: string, stage: Stage): Promise<void>;
  succeed(jobId: string, result: JobResult): Promise<void>;
  /** Back to queued, not before the given time. */
  retryLater(jobId: string, error: JobError, notBefore: Date): Promise<void>;
  /** Parked for good with the reason. */
  fail(jobId: string, error: JobError): Promise<void>;
  /** After a crash: jobs left running by a dead process go back to queued. Returns how many. */
  requeueInterrupted(): Promise<number>;
  get(jobId: string): Promise<Job | undefined>;
  findByKey(idempotencyKey: string): Promise<Job | undefined>;
  list(filter?: { state?: JobState; studyInstanceUid?: string; limit?: number }): Promise<Job[]>;
  /** Intake cursors (e.g. Orthanc /changes sequence). */
  getCursor(name: string): Promise<string | undefined>;
  setCursor(name: string, value: string): Promise<void>;
  close(): Promise<void>;
}
