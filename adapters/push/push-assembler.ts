import { toAppError } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import { isUnfinished, type Job } from '../../src/domain/job';
import type { StudyEvent } from '../../src/domain/study';
import type { Logger } from '../../src/logging';
import type { JobStore } from '../../src/ports/job-store';
import type { StudyEventSource } from '../../src/ports/study-events';
import type { ReceivedStore } from './received-store';

/** What happens to a study's received files once every job that reads them has finished. */
export interface CleanupPolicy {
  /** All jobs succeeded (or no model wanted the study): delete the files (true) or keep them for the operator. */
  deleteOnSuccess: boolean;
  /** Some job failed: keep the files this long after the last failure (to inspect or re-send), then delete. */
  keepFailedHours: number;
}

export interface PushAssemblerOptions {
  /** A study becomes an event once no instance of it arrived for this long. */
  quietMs: number;
  pollIntervalMs: number;
  cleanup: CleanupPolicy;
  jobs: JobStore;
  /**
   * True while the study waits to be routed (settling or held, src/pipeline/study-settler.ts): an emitted study has
   * no jobs yet then, and its files are what the settler and the jobs will read.
   */
  pending?: (studyInstanceUid: string) => Promise<boolean>;
  logger: Logger;
}

/** A study whose routing failed is tried again after this pause rather than on every tick. */
const ROUTE_RETRY_MS = 30_000;
/** Studies kept after a failure are looked at again at most this often. */
const KEPT_RECHECK_MS = 60_000;

export type CleanupDecision =
  | { action: 'keep'; reason: 'jobs-pending' | 'kept-on-success' | 'failed-recently' | 'incomplete'; until?: number }
  | { action: 'delete'; reason: 'succeeded' | 'no-jobs' | 'failed-expired' | 'incomplete-expired' };

/**
 * The cleanup policy as a pure decision over the jobs that read a study's received files. Jobs queued or running
 * always keep the files; so does a failure younger than keepFailedHours. A study marked incomplete (held, so it has
 * no jobs) is kept like a failure: keepFailedHours after `incompleteSince`, its last change, it is given up on.
 */
export function decideCleanup(jobs: readonly Job[], policy: CleanupPolicy, now: number, incompleteSince?: number): CleanupDecision {
  if (jobs.some(isUnfinished)) return { action: 'keep', reason: 'jobs-pending' };
  if (incompleteSince !== undefined) {
    const until = incompleteSince + policy.keepFailedHours * 3_600_000;
    return now < until ? { action: 'keep', reason: 'incomplete', until } : { action: 'delete', reason: 'incomplete-expired' };
  }
  const failed = jobs.filter((j) => j.state === 'failed');
  if (failed.length === 0) {
    if (!policy.deleteOnSuccess) return { action: 'keep', reason: 'kept-on-success' };
    return { action: 'delete', reason: jobs.length === 0 ? 'no-jobs' : 'succeeded' };
  }
  const lastFailure = Math.max(...failed.map((j) => Date.parse(j.updatedAt)));
  const until = lastFailure + policy.keepFailedHours * 3_600_000;
  return now < until ? { action: 'keep', reason: 'failed-recently', until } : { action: 'delete', reason: 'failed-expired' };
}

/**
 * Study assembly for the push intakes (STOW-RS, C-STORE): instances land in the ReceivedStore as they arrive; a
 * study becomes one StudyEvent once none of its instances changed for the quiet period, and again if more arrive
 * later (the router's idempotency keys make a repeat with the same instances create nothing). Afterwards it applies
 * the cleanup policy to the study's received files. A restart re-indexes the received folder and re-emits every
 * study in it, which turns into no new jobs for studies already routed and lets cleanup resume. A study marked
 * incomplete (a transfer into it lost instances or was cut short, push-transfer.ts) is emitted with `incomplete`, so
 * it is held, and emitted again without it once a clean transfer cleared the mark.
 */
export class PushAssembler implements StudyEventSource {
  readonly name = 'push';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Study UID → version already emitted (last change time of its files, and of its incomplete mark). */
  private readonly emitted = new Map<string, string>();
  /** Study UID → time before which it is not looked at again (routing retry). */
  private readonly notBefore = new Map<string, number>();
  /** Study UID → time before which its kept files are not looked at again, unless the study changes. */
  private readonly recheckAt = new Map<string, number>();

  constructor(
    private readonly store: ReceivedStore,
    private readonly options: PushAssemblerOptions,
  ) {}

  async start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    this.stopped = false;
    const loop = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.guardedTick(onEvent).finally(loop);
      }, this.options.pollIntervalMs);
    };
    this.running = this.guardedTick(onEvent);
    await this.running;
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async guardedTick(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    try {
      await this.tick(onEvent);
    } catch (err) {
      this.options.logger.error({ err: toAppError(err).message }, 'push intake scan failed');
    }
  }

  /** One pass: index new files, emit quiet studies, apply the cleanup policy to emitted ones. */
  async tick(onEvent: (event: StudyEvent) => Promise<void>, now = Date.now()): Promise<void> {
    const index = this.store.index;
    await this.store.saveUnsavedMarks();
    await index.scan();
    const present = new Set(index.studyUids());
    for (const map of [this.emitted, this.notBefore, this.recheckAt]) for (const uid of [...map.keys()]) if (!present.has(uid)) map.delete(uid);

    for (const uid of present) {
      if (this.stopped) return;
      if (now < (this.notBefore.get(uid) ?? 0)) continue;
      const changed = index.lastChangeMs(uid);
      // Marking or clearing a study incomplete is a change too: the settler must hear of it.
      const mark = this.store.incompleteMark(uid);
      const version = `${changed}:${mark?.at ?? ''}`;
      if (this.emitted.get(uid) !== version) {
        if (now - Math.max(changed, mark ? Date.parse(mark.at) : 0) < this.options.quietMs) continue;
        if (!(await this.emit(uid, version, now, onEvent))) continue;
      } else if (now < (this.recheckAt.get(uid) ?? 0)) continue;
      await this.applyCleanup(uid, changed, now);
    }
  }

  private async emit(uid: string, version: string, now: number, onEvent: (event: StudyEvent) => Promise<void>): Promise<boolean> {
    const origin = await this.store.originOf(uid);
    const event: StudyEvent = { studyInstanceUid: uid, source: origin.source, receivedAt: new Date(now).toISOString() };
    if (origin.callingAeTitle !== undefined) event.callingAeTitle = origin.callingAeTitle;
    const mark = this.store.incompleteMark(uid);
    if (mark) event.incomplete = mark.reason;
    try {
      await onEvent(event);
      this.emitted.set(uid, version);
      this.notBefore.delete(uid);
      this.recheckAt.delete(uid);
      return true;
    } catch (err) {
      // Not marked emitted: tried again later. The files stay, so nothing acknowledged is lost.
      this.notBefore.set(uid, now + ROUTE_RETRY_MS);
      this.options.logger.error({ study: logHash(uid), err: toAppError(err).message }, 'received study could not be routed; will retry');
      return false;
    }
  }

  /** The jobs that read this study's received files: those whose instances are all among them. */
  private async jobsReading(uid: string): Promise<Job[]> {
    const sops = new Set(this.store.index.getStudy(uid).series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)));
    const jobs = await this.options.jobs.list({ studyInstanceUid: uid, limit: 1000 });
    return jobs.filter((j) => j.instanceUids.every((u) => sops.has(u)));
  }

  private async applyCleanup(uid: string, changed: number, now: number): Promise<void> {
    const mark = this.store.incompleteMark(uid);
    // A study held as incomplete is pending for the settler for ever: its own rule (keepFailedHours) decides here.
    if (!mark && (await this.options.pending?.(uid))) return;
    const decision = decideCleanup(await this.jobsReading(uid), this.options.cleanup, now, mark ? Math.max(changed, Date.parse(mark.at)) : undefined);
    if (decision.action === 'keep') {
      if (decision.reason !== 'jobs-pending') this.recheckAt.set(uid, Math.min(decision.until ?? Infinity, now + KEPT_RECHECK_MS));
      return;
    }
    const removed = await this.store.withStudyLock(uid, async () => {
      // An instance that arrived since the event makes a new version of the study: keep everything for it.
      await this.store.index.scan();
      if (this.store.index.lastChangeMs(uid) !== changed) return false;
      await this.store.removeStudyFiles(uid);
      return true;
    });
    if (!removed) return;
    await this.store.index.scan();
    this.emitted.delete(uid);
    this.notBefore.delete(uid);
    this.recheckAt.delete(uid);
    if (decision.reason === 'incomplete-expired') {
      this.options.logger.warn({ study: logHash(uid), reason: decision.reason, incomplete: mark?.reason, keepFailedHours: this.options.cleanup.keepFailedHours }, 'received study files removed: it stayed incomplete (never re-sent whole)');
    } else {
      this.options.logger.info({ study: logHash(uid), reason: decision.reason }, 'received study files removed');
    }
  }
}
