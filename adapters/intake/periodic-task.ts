import cron, { type ScheduledTask } from 'node-cron';
import { AppError, toAppError } from '../../src/domain/errors';
import { silentLogger, type Logger } from '../../src/logging';

export interface PeriodicTaskOptions {
  /** Name in logs, e.g. "orthanc-reconciliation". */
  name: string;
  /** node-cron expression (5 fields, or 6 with seconds first), e.g. "*\/10 * * * *". */
  schedule: string;
  /** Also run once right after start() (catch up after downtime before the first tick). */
  runAtStart?: boolean;
  /** node-cron timezone (IANA name); default the process's. */
  timezone?: string;
  logger?: Logger;
}

/** Throws CONFIG_INVALID unless node-cron accepts the expression, naming the config key. */
export function assertCronExpression(expression: string, configKey: string): void {
  if (!cron.validate(expression)) {
    throw new AppError('CONFIG_INVALID', `${configKey}: "${expression}" is not a cron expression (5 fields, or 6 with seconds first)`);
  }
}

/**
 * Runs `work` on a cron schedule, never two runs at once (a tick that finds a run in flight is skipped), and never
 * throws out of the schedule: a failed run is logged and the next tick tries again. stop() waits for the run in
 * flight, so state the run persists is consistent when the service closes its stores.
 */
export class PeriodicTask {
  private task: ScheduledTask | undefined;
  private running: Promise<void> | undefined;
  private abort = new AbortController();
  private readonly logger: Logger;

  constructor(
    private readonly options: PeriodicTaskOptions,
    /** The signal aborts when stop() is called: long runs should end early, leaving state consistent. */
    private readonly work: (signal: AbortSignal) => Promise<void>,
  ) {
    assertCronExpression(options.schedule, options.name);
    this.logger = (options.logger ?? silentLogger).child({ task: options.name });
  }

  start(): void {
    if (this.task) return;
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.task = cron.schedule(this.options.schedule, () => this.runNow(), {
      name: this.options.name,
      ...(this.options.timezone ? { timezone: this.options.timezone } : {}),
      // A slow sweep past the next tick is normal, not a warning: we skip the tick ourselves.
      suppressMissedWarning: true,
    });
    if (this.options.runAtStart) void this.runNow();
  }

  /** Runs the work now unless a run is in flight; resolves when that run (or the one in flight) ended. */
  runNow(): Promise<void> {
    this.running ??= (async () => {
      try {
        await this.work(this.abort.signal);
      } catch (err) {
        const e = toAppError(err);
        this.logger.warn({ code: e.code, err: e.message, ...e.details }, 'periodic task failed; the next run tries again');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    this.abort.abort();
    if (task) await task.destroy();
    await this.running;
  }
}
