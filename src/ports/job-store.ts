import type { Job, JobResult, JobSpec, JobState, Stage } from '../domain/job';
import type { LineageOutputs, LineageSettlement, LineageView } from '../domain/lineage';

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
  /**
   * Result lineage (src/domain/lineage.ts): records what the job wrote for its lineage (again = replaces the outputs)
   * and, in one atomic step, answers which recorded result is current (the one whose job was created last) and
   * which older ones are not retired yet. The job must exist.
   */
  settleLineage(lineage: string, jobId: string, outputs: LineageOutputs): Promise<LineageSettlement>;
  /** The lineage's current result as the given job sees it, before it writes anything. */
  viewLineage(lineage: string, jobId: string): Promise<LineageView>;
  /** The job's outputs were retired (superseded); later settlements no longer list it. */
  markRetired(jobId: string): Promise<void>;
  /** Intake cursors (e.g. Orthanc /changes sequence). */
  getCursor(name: string): Promise<string | undefined>;
  setCursor(name: string, value: string): Promise<void>;
  close(): Promise<void>;
}
