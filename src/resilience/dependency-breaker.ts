import { AppError, toAppError, type ErrorCode } from '../domain/errors';
import type { Dependency } from '../domain/job';
import { silentLogger, type Logger } from '../logging';

/** The error code that says "this dependency did not answer" (connection refused, timeout, 5xx, 429). */
export const OUTAGE_CODE: Record<Dependency, ErrorCode> = { pacs: 'PACS_UNAVAILABLE', fhir: 'FHIR_UNAVAILABLE' };
/** How messages name each dependency. */
export const DEPENDENCY_LABEL: Record<Dependency, string> = { pacs: 'the PACS', fhir: 'the FHIR server' };

/** Which dependency an error says is unavailable, if any. */
export function dependencyOf(err: AppError): Dependency | undefined {
  return (Object.keys(OUTAGE_CODE) as Dependency[]).find((d) => OUTAGE_CODE[d] === err.code);
}

export interface BreakerOptions {
  dependency: Dependency;
  /** The dependency's health check (the port's ping); resolves when it answers. */
  probe: () => Promise<void>;
  /** First pause between probes while open (ms); doubles up to probeMaxMs. */
  probeInitialMs: number;
  probeMaxMs: number;
  /** A probe that has not answered after this long counts as failed (ms). */
  probeTimeoutMs: number;
  logger?: Logger;
  now?: () => number;
}

export interface BreakerStatus {
  dependency: Dependency;
  state: 'closed' | 'open';
  /** ISO time the current outage was confirmed. */
  since?: string;
  /** Failed probes in the current outage. */
  failedProbes: number;
  /** The last probe's failure, without patient data (our messages and HTTP status lines only). */
  lastError?: string;
}

/**
 * A circuit breaker for one outside system. An error that says the system is unavailable is an outage only when the
 * system's own health check fails too (`confirmOutage`): otherwise one study that always makes the PACS answer 500
 * would wait for ever instead of spending its attempts. While open, guarded calls fail at once without touching the
 * network, jobs that need the system wait without spending attempts, and a background probe with capped backoff
 * (the half-open state) closes the breaker as soon as the system answers, telling every listener.
 */
export class DependencyBreaker {
  readonly dependency: Dependency;
  private state: 'closed' | 'open' = 'closed';
  private openedAt: number | undefined;
  private failedProbes = 0;
  private lastError: string | undefined;
  private probing: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners = new Set<() => void>();
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.dependency = options.dependency;
    this.logger = (options.logger ?? silentLogger).child({ dependency: options.dependency });
    this.now = options.now ?? Date.now;
  }

  isOpen(): boolean {
    return this.state === 'open';
  }

  /** Runs when the breaker closes again (the system answered a probe). */
  onRestored(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Throws the outage error at once while open: no request goes to a system known to be down. */
  guard(): void {
    if (this.state !== 'open') return;
    const since = new Date(this.openedAt ?? this.now()).toISOString();
    throw new AppError(OUTAGE_CODE[this.dependency], `${DEPENDENCY_LABEL[this.dependency]} is unavailable (since ${since}); waiting for it to answer`, {
      details: { dependency: this.dependency, outageSince: since },
    });
  }

  /**
   * After a call failed with this system's outage code: true when it is down (already open, or its health check
   * fails now, which opens the breaker); false when it answers, so the failure belongs to the job.
   */
  async confirmOutage(): Promise<boolean> {
    if (this.state === 'open') return true;
    // Jobs failing together share one probe.
    this.probing ??= this.probeOnce().finally(() => (this.probing = undefined));
    const answered = await this.probing;
    if (!answered && this.state === 'closed') this.open();
    return !answered;
  }

  status(): BreakerStatus {
    const status: BreakerStatus = { dependency: this.dependency, state: this.state, failedProbes: this.failedProbes };
    if (this.openedAt !== undefined) status.since = new Date(this.openedAt).toISOString();
    if (this.lastError !== undefined && this.state === 'open') status.lastError = this.lastError;
    return status;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async probeOnce(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.options.probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.options.probeTimeoutMs} ms`)), this.options.probeTimeoutMs);
        }),
      ]);
      return true;
    } catch (err) {
      this.lastError = toAppError(err).message.slice(0, 300);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private open(): void {
    this.state = 'open';
    this.openedAt = this.now();
    this.failedProbes = 1;
    this.logger.warn({ reason: this.lastError }, `${DEPENDENCY_LABEL[this.dependency]} is unavailable: jobs that need it wait (no attempts spent) until it answers`);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    const delay = Math.min(this.options.probeMaxMs, this.options.probeInitialMs * 2 ** Math.max(0, this.failedProbes - 1));
    this.timer = setTimeout(() => void this.halfOpenProbe(), delay);
    this.timer.unref();
  }

  private async halfOpenProbe(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.state !== 'open') return;
    if (await this.probeOnce()) {
      const downMs = this.now() - (this.openedAt ?? this.now());
      this.state = 'closed';
      this.openedAt = undefined;
      this.failedProbes = 0;
      this.lastError = undefined;
      this.logger.info({ downMs }, `${DEPENDENCY_LABEL[this.dependency]} answers again: waiting jobs resume`);
      for (const listener of this.listeners) listener();
      return;
    }
    this.failedProbes += 1;
    if (this.failedProbes % 20 === 0) this.logger.warn({ failedProbes: this.failedProbes, reason: this.lastError }, `${DEPENDENCY_LABEL[this.dependency]} is still unavailable`);
    this.scheduleProbe();
  }
}

/** The breakers of one service, by dependency. */
export class Breakers {
  private readonly byDependency = new Map<Dependency, DependencyBreaker>();

  constructor(breakers: readonly DependencyBreaker[]) {
    for (const b of breakers) this.byDependency.set(b.dependency, b);
  }

  get(dependency: Dependency): DependencyBreaker | undefined {
    return this.byDependency.get(dependency);
  }

  /** The breaker an error names as unavailable, if this service has one for it. */
  forError(err: AppError): DependencyBreaker | undefined {
    const dependency = dependencyOf(err);
    return dependency ? this.byDependency.get(dependency) : undefined;
  }

  /** Dependencies whose breaker is open now. */
  unavailable(): Dependency[] {
    return [...this.byDependency.values()].filter((b) => b.isOpen()).map((b) => b.dependency);
  }

  onRestored(listener: () => void): void {
    for (const b of this.byDependency.values()) b.onRestored(listener);
  }

  statuses(): BreakerStatus[] {
    return [...this.byDependency.values()].map((b) => b.status());
  }

  stop(): void {
    for (const b of this.byDependency.values()) b.stop();
  }
}
