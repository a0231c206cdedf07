import { toAppError } from '../domain/errors';
import { logHash } from '../domain/identity';
import type { Job } from '../domain/job';
import type { PipelineDeps } from './context';
import { backoffDelayMs } from './backoff';
import { runPipeline } from './run-pipeline';

export interface JobRunnerOptions {
  concurrency: number;
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  pollIntervalMs: number;
}

/**
 * Takes queued jobs from the durable store and runs them. Retryable failures go back to the queue with backoff
 * until maxAttempts; other failures park the job with its reason. Errors never escape a job: one bad study cannot
 * stop the others.
 */
export class JobRunner {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<string>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly deps: PipelineDeps,
    private readonly options: JobRunnerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
  }

  /** Nudges idle loops to look for work now (after an enqueue) instead of at the next poll. */
  notify(): void {
    this.wake?.();
  }

  /** Stops taking jobs and waits for the ones in flight (the caller bounds the wait). */
  async stop(): Promise<void> {
    this.running = false;
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
        job = await this.deps.jobs.claimNext(this.now());
      } catch (err) {
        this.deps.logger.error({ err: toAppError(err).message }, 'job store unavailable');
      }
      if (!job) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.options.pollIntervalMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        continue;
      }
      await this.execute(job);
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
        await deps.jobs.fail(job.id, { code: 'MODEL_INVALID', message: `model ${job.modelId} is not loaded`, retryable: false });
        log.warn('job parked: model not loaded');
        return;
      }
      if (model.digest !== job.modelDigest) {
        // The model file changed since routing: this job's key no longer names what would run.
        await deps.jobs.fail(job.id, { code: 'MODEL_INVALID', message: `model ${job.modelId} changed since the job was created`, retryable: false });
        log.warn('job parked: model digest changed');
        return;
      }
      log.info('job started');
      const result = await runPipeline({
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
      log.info({ ms: Date.now() - started }, 'job succeeded');
    } catch (err) {
      const e = toAppError(err);
      const error = { code: e.code, message: e.message, retryable: e.retryable };
      try {
        if (e.retryable && job.attempts < this.options.maxAttempts) {
          const delay = backoffDelayMs(job.attempts, this.options.backoffInitialMs, this.options.backoffMaxMs);
          await deps.jobs.retryLater(job.id, error, new Date(this.now().getTime() + delay));
          log.warn({ code: e.code, delayMs: delay }, 'job failed, will retry');
        } else {
          await deps.jobs.fail(job.id, error);
          log.error({ code: e.code, reason: e.message }, 'job failed');
        }
      } catch (storeErr) {
        log.error({ err: toAppError(storeErr).message }, 'could not record job failure; it stays running until restart');
      }
    } finally {
      this.inFlight.delete(job.id);
    }
  }
}
