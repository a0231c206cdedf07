import type { Dependency, Job, JobResult, JobSpec, JobState, Stage } from '../domain/job';
import type { LineageOutputs, LineageSettlement, LineageView } from '../domain/lineage';

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
}

export interface ClaimOptions {
  /** Dependencies known to be down: jobs waiting for one of them are not taken (queued jobs still are). */
  unavailable?: readonly Dependency[];
}

/** Which jobs a listing, or an operator's retry, is about. Times compare with the job's last change (updatedAt). */
export interface JobFilter {
  state?: JobState;
  studyInstanceUid?: string;
  /** lastError.code equals this. */
  code?: string;
  /** Job ids (any of). */
  ids?: readonly string[];
  /** ISO time: changed at or after. */
  since?: string;
  /** ISO time: changed before. */
  until?: string;
  limit?: number;
}

export interface InterruptedOutcome {
  /** Jobs put back to queued without spending an attempt. */
  requeued: number;
  /** Jobs parked as failed because the process stopped while they ran too many times (they may be what kills it). */
  parked: Job[];
}

/** Durable job queue keyed by idempotency key; also keeps intake cursors. */
export interface JobStore {
  /** Creates a queued job unless one with the same idempotency key exists (then returns that one, created=false). */
  enqueue(spec: JobSpec): Promise<{ job: Job; created: boolean }>;
  /**
   * Atomically takes the oldest claimable job: queued with notBefore passed, or waiting for a dependency that is not
   * in options.unavailable. State → running, attempts + 1.
   */
  claimNext(now: Date, options?: ClaimOptions): Promise<Job | undefined>;
  recordStage(jobId: string, stage: Stage): Promise<void>;
  succeed(jobId: string, result: JobResult): Promise<void>;
  /** Back to queued, not before the given time (a failure of the job: the attempt stays spent). */
  retryLater(jobId: string, error: JobError, notBefore: Date): Promise<void>;
  /**
   * The run met an outage of `dependency`: state → waiting, the attempt is given back (attempts − 1). waitingSince
   * stays when the job was already waiting for the same dependency, else becomes `now`. Returns the updated job.
   */
  waitForDependency(jobId: string, dependency: Dependency, error: JobError, now: Date): Promise<Job | undefined>;
  /**
   * Not now, through no fault of the job (its study is still changing): back to queued not before the given time,
   * the attempt given back.
   */
  postpone(jobId: string, reason: JobError, notBefore: Date): Promise<void>;
  /** Parked for good with the reason. */
  fail(jobId: string, error: JobError): Promise<void>;
  /**
   * After a crash: jobs left running by a dead process go back to queued with their attempt given back and one more
   * interruption; those that reach maxInterruptions are parked as failed instead (not retryable).
   */
  requeueInterrupted(options: { maxInterruptions: number }): Promise<InterruptedOutcome>;
  /**
   * Failed jobs matching the filter (its state is ignored: only failed jobs are retried) go back to queued with a
   * fresh attempt and interruption budget; their last error stays on record until they run. Returns them.
   */
  retry(filter: Omit<JobFilter, 'state' | 'limit'>): Promise<Job[]>;
  /** Jobs waiting since before `before` are failed with the error `reason` gives. Returns them. */
  expireWaits(before: Date, reason: (job: Job) => JobError): Promise<Job[]>;
  get(jobId: string): Promise<Job | undefined>;
  findByKey(idempotencyKey: string): Promise<Job | undefined>;
  /** Newest first. */
  list(filter?: JobFilter): Promise<Job[]>;
  /** How many jobs are in each state. */
  countByState(): Promise<Record<JobState, number>>;
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
