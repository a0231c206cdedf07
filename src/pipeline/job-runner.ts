import { AppError, toAppError } from '../domain/errors';
import { logHash } from '../domain/identity';
import type { Job } from '../domain/job';
import type { JobError } from '../ports/job-store';
import { DEPENDENCY_LABEL, OUTAGE_CODE, type Breakers } from '../resilience/dependency-breaker';
import type { PipelineDeps } from './context';
import { backoffDelayMs } from './backoff';
import { runPipeline } from './run-pipeline';

export interface JobRunnerOptions {
  concurrency: number;
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  pollIntervalMs: number;
  /** A job that has waited longer than this for one dependency is failed (retryable, so a retry or re-delivery revives it). */
  maxOutageMs?: number;
}

/** How often waits older than maxOutageMs are looked for: a minute, or more often for short limits. */
const expireCheckMs = (maxOutageMs: number): number => Math.min(60_000, Math.max(500, Math.round(maxOutageMs / 4)));


/** Why a job whose dependency stayed down too long was given up. */
export function outageExpiredError(job: Job, maxOutageMs: number): JobError {
  const dependency = job.waitingFor ?? 'pacs';
  return {
    code: OUTAGE_CODE[dependency],
    message: `${DEPENDENCY_LABEL[dependency]} was unavailable for more than ${Math.round(maxOutageMs / 3_600_000)} h (outage.maxAgeMs) while this job waited; given up. Re-run it with "clinical-ai jobs retry" or POST /jobs/{id}/retry once it is back`,
    retryable: true,
  };
}

/**
 * Takes claimable jobs from the durable store and runs them. A failure is sorted by whose it is: an outage of the
 * PACS or FHIR server (confirmed by its breaker) puts the job in `waiting` without spending an attempt, and it runs
 * again as soon as the breaker closes; a retryable failure of the job goes back to the queue with backoff until
 * maxAttempts; anything else parks the job with its reason. Errors never escape a job: one bad study cannot stop
 * the others.
 */
export class JobRunner {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<string>();
  private readonly wakers = new Set<() => void>();
  private expireTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: PipelineDeps,
    private readonly options: JobRunnerOptions,
    private readonly breakers?: Breakers,
    /** The flow a job runs (tests put a scripted one here). */
    private readonly run: typeof runPipeline = runPipeline,
  ) {
    breakers?.onRestored(() => this.notify());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
    if (this.options.maxOutageMs !== undefined) {
      void this.expireWaits();
      this.expireTimer = setInterval(() => void this.expireWaits(), expireCheckMs(this.options.maxOutageMs));
      this.expireTimer.unref();
    }
  }

  /** Nudges idle loops to look for work now (after an enqueue, a retry, a dependency back) instead of at the next poll. */
  notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Stops taking jobs and waits for the ones in flight (the caller bounds the wait). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.expireTimer) clearInterval(this.expireTimer);
    this.notify();
    await Promise.all(this.loops);
    this.loops.length = 0;
  }

  inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Runs queued jobs until none is claimable (CLI mode); returns how many ran. */
  async drain(): Promise<number> {
    let n = 0;
    for (;;) {
      const job = await this.deps.jobs.claimNext(this.now());
      if (!job) return n;
      await this.execute(job);
      n++;
    }
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let job: Job | undefined;
      try {
        job = await this.deps.jobs.claimNext(this.now(), { unavailable: this.breakers?.unavailable() ?? [] });
      } catch (err) {
        this.deps.logger.error({ err: toAppError(err).message }, 'job store unavailable');
      }
      if (!job) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(t);
            this.wakers.delete(wake);
            resolve();
          };
          const t = setTimeout(wake, this.options.pollIntervalMs);
          this.wakers.add(wake);
        });
        continue;
      }
      await this.execute(job);
    }
  }

  /** Fails jobs that have waited out an outage for longer than allowed. */
  private async expireWaits(): Promise<void> {
    const maxOutageMs = this.options.maxOutageMs;
    if (maxOutageMs === undefined) return;
    try {
      const expired = await this.deps.jobs.expireWaits(new Date(this.now().getTime() - maxOutageMs), (job) => outageExpiredError(job, maxOutageMs));
      for (const job of expired) {
        this.deps.logger.error({ jobId: job.id, study: logHash(job.studyInstanceUid), model: job.modelId, dependency: job.waitingFor }, 'job failed: its dependency stayed unavailable longer than outage.maxAgeMs');
        await this.deps.checkpoints?.remove(job.id);
      }
    } catch (err) {
      this.deps.logger.error({ err: toAppError(err).message }, 'could not check outage waits');
    }
  }

  /** Runs one claimed job to its next state. Never throws. */
  async execute(job: Job): Promise<void> {
    const { deps } = this;
    const log = deps.logger.child({ jobId: job.id, study: logHash(job.studyInstanceUid), model: job.modelId, attempt: job.attempts });
    this.inFlight.add(job.id);
    const started = Date.now();
    try {
      const model = deps.models.get(job.modelId);
      if (!model) {
        await this.end(job, { code: 'MODEL_INVALID', message: `model ${job.modelId} is not loaded`, retryable: false });
        log.warn('job parked: model not loaded');
        return;
      }
      if (model.digest !== job.modelDigest) {
        // The model file changed since routing: this job's key no longer names what would run.
        await this.end(job, { code: 'MODEL_INVALID', message: `model ${job.modelId} changed since the job was created`, retryable: false });
        log.warn('job parked: model digest changed');
        return;
      }
      log.info({ ...(job.waitingFor && job.lastError ? { resumedAfter: job.waitingFor } : {}) }, 'job started');
      const result = await this.run({
        job,
        model,
        deps,
        log,
        enter: async (stage) => {
          log.debug({ stage }, 'stage');
          await deps.jobs.recordStage(job.id, stage);
        },
      });
      await deps.jobs.succeed(job.id, result);
      await deps.checkpoints?.remove(job.id);
      log.info({ ms: Date.now() - started }, 'job succeeded');
    } catch (err) {
      const e = toAppError(err);
      const error = { code: e.code, message: e.message, retryable: e.retryable };
      try {
        if (await this.waitOutOutage(job, e, log)) return;
        if (e.code === 'STUDY_CHANGING') {
          const until = Number(e.details?.postponeUntil ?? this.now().getTime() + 1000);
          await deps.jobs.postpone(job.id, error, new Date(until));
          log.info({ untilMs: until - this.now().getTime() }, 'outputs wait: the study changed after routing (no attempt spent)');
          return;
        }
        if (e.retryable && job.attempts < this.options.maxAttempts) {
          const delay = backoffDelayMs(job.attempts, this.options.backoffInitialMs, this.options.backoffMaxMs);
          await deps.jobs.retryLater(job.id, error, new Date(this.now().getTime() + delay));
          log.warn({ code: e.code, delayMs: delay }, 'job failed, will retry');
        } else {
          await this.end(job, error);
          log.error({ code: e.code, reason: e.message }, 'job failed');
        }
      } catch (storeErr) {
        log.error({ err: toAppError(storeErr).message }, 'could not record job failure; it stays running until restart');
      }
    } finally {
      this.inFlight.delete(job.id);
    }
  }

  /** True when the failure is an outage of a dependency its breaker confirms: the job waits, no attempt spent. */
  private async waitOutOutage(job: Job, e: AppError, log: PipelineDeps['logger']): Promise<boolean> {
    const breaker = this.breakers?.forError(e);
    if (!breaker || !(await breaker.confirmOutage())) return false;
    const now = this.now();
    const waiting = await this.deps.jobs.waitForDependency(job.id, breaker.dependency, { code: e.code, message: e.message, retryable: true }, now);
    const maxOutageMs = this.options.maxOutageMs;
    if (waiting?.waitingSince && maxOutageMs !== undefined && now.getTime() - Date.parse(waiting.waitingSince) > maxOutageMs) {
      await this.end(waiting, outageExpiredError(waiting, maxOutageMs));
      log.error({ dependency: breaker.dependency }, 'job failed: its dependency stayed unavailable longer than outage.maxAgeMs');
      return true;
    }
    log.warn({ code: e.code, dependency: breaker.dependency, stage: job.stage }, 'job waits for its dependency to answer (no attempt spent)');
    return true;
  }

  /** Parks the job for good; what it kept for a resume goes. */
  private async end(job: Job, error: JobError): Promise<void> {
    await this.deps.jobs.fail(job.id, error);
    await this.deps.checkpoints?.remove(job.id);
  }
}
