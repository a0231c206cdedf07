import { KeyedMutex } from '../concurrency/keyed-mutex';
import { toAppError } from '../domain/errors';
import { logHash } from '../domain/identity';
import { decide, observe, quietTimeMs, routed, studySnapshot, type SettlePolicy, type SettlingRecord } from '../domain/settling';
import type { StudyEvent, StudyInfo } from '../domain/study';
import type { Logger } from '../logging';
import type { ImagingSource } from '../ports/imaging-source';
import type { SettlingStore } from '../ports/settling-store';

export interface StudySettlerOptions {
  policy: SettlePolicy;
  /** How often due studies are looked at (ms). */
  checkIntervalMs: number;
  store: SettlingStore;
  /** Where a study is looked at: the source its event names (PACS, received files, folder inbox). */
  source: ImagingSource;
  /** Routes a settled study (creates its jobs). */
  route: (event: StudyEvent, study: StudyInfo) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

/** Due studies looked at per tick; the rest wait for the next one. */
const BATCH = 50;

/**
 * Between intake and routing (src/domain/settling.ts): the intake's event is recorded durably (so the intake may move
 * its cursor), and the study is routed only once a fresh look finds it unchanged for its quiet time, complete as far
 * as anyone can tell. A study that keeps changing keeps waiting; one whose sender reported failures is held.
 */
export class StudySettler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private readonly locks = new KeyedMutex();
  private readonly now: () => number;

  constructor(private readonly options: StudySettlerOptions) {
    this.now = options.now ?? Date.now;
  }

  private look(event: StudyEvent): Promise<StudyInfo> {
    return this.options.source.getStudy(event.studyInstanceUid, { source: event.source, ...(event.sourceRef !== undefined ? { sourceRef: event.sourceRef } : {}) });
  }

  /** The intakes' onEvent: looks at the study and records it; resolves once it is durably recorded. */
  async accept(event: StudyEvent): Promise<void> {
    const study = await this.look(event);
    await this.locks.run(event.studyInstanceUid, async () => {
      const now = this.now();
      const before = await this.options.store.get(event.studyInstanceUid);
      const record = observe(before, event, studySnapshot(study), now, this.options.policy);
      await this.options.store.put(record);
      if (before && before.fingerprint !== record.fingerprint) {
        this.options.logger.info(
          { study: logHash(event.studyInstanceUid), instances: record.instanceCount, quietMs: quietTimeMs(record, this.options.policy), wasRouted: before.status === 'routed' },
          'study changed again: routing waits until it is quiet',
        );
      }
    });
    this.kick();
  }

  start(): void {
    this.started = true;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /**
   * Whether the study changed after it was last routed and is settling again: jobs of the earlier routing then hold
   * their outputs until this time (src/pipeline/run-pipeline.ts).
   */
  async changingSinceRouting(uid: string): Promise<{ until: number } | undefined> {
    const record = await this.options.store.get(uid);
    if (!record || record.status === 'routed' || record.routedFingerprint === undefined || record.routedFingerprint === record.fingerprint) return undefined;
    return { until: record.dueAt };
  }

  /** Studies held back (failed instances, a series short of its expected count). */
  held(limit = 100): Promise<SettlingRecord[]> {
    return this.options.store.list({ status: 'held', limit });
  }

  /** Studies waiting to be routed (settling or held). */
  async pending(limit = 100): Promise<SettlingRecord[]> {
    return [...(await this.options.store.list({ status: 'settling', limit })), ...(await this.options.store.list({ status: 'held', limit }))];
  }

  private kick(): void {
    if (!this.started || this.stopped || this.ticking) return;
    // A study due at once (interim-free repeat of routed content) need not wait for the next interval.
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (!this.started || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule(this.options.checkIntervalMs);
      });
    }, ms);
  }

  /** Looks at every due study once. Never throws. */
  async tick(): Promise<void> {
    let due: SettlingRecord[];
    try {
      due = await this.options.store.due(this.now(), BATCH);
    } catch (err) {
      this.options.logger.error({ err: toAppError(err).message }, 'settling store unavailable');
      return;
    }
    for (const record of due) {
      if (this.stopped) return;
      await this.locks.run(record.studyInstanceUid, () => this.settleOne(record.studyInstanceUid));
    }
  }

  private async settleOne(uid: string): Promise<void> {
    const { store, policy, logger } = this.options;
    const record = await store.get(uid);
    const now = this.now();
    if (!record || record.dueAt > now) return;
    const log = { study: logHash(uid) };
    if (record.status === 'routed') {
      await store.remove(uid); // remembered long enough: its completion window is over
      return;
    }
    let study: StudyInfo;
    try {
      study = await this.look(record.event);
    } catch (err) {
      const e = toAppError(err);
      if (e.code === 'NOT_FOUND') {
        await store.remove(uid);
        logger.info(log, 'study to route is gone from its source; forgotten');
        return;
      }
      // Source unavailable: look again later; the record keeps the study.
      await store.put({ ...record, dueAt: now + quietTimeMs(record, policy) });
      logger.warn({ ...log, code: e.code, err: e.message }, 'could not look at a settling study; will look again');
      return;
    }
    const snapshot = studySnapshot(study);
    const looked = observe(record, record.event, snapshot, now, policy);
    const decision = decide(looked, now, policy, snapshot);
    if (decision.action === 'wait') {
      await store.put(decision.record);
      return;
    }
    if (decision.action === 'hold') {
      if (record.heldReason !== decision.record.heldReason) logger.warn({ ...log, reason: decision.record.heldReason }, 'study held: not routed as it is');
      await store.put(decision.record);
      return;
    }
    if (decision.warning) logger.warn({ ...log, reason: decision.warning }, 'study routed with a warning');
    try {
      await this.options.route(record.event, study);
      await store.put(routed(looked, policy));
    } catch (err) {
      const e = toAppError(err);
      await store.put({ ...looked, dueAt: now + quietTimeMs(looked, policy) });
      logger.error({ ...log, code: e.code, err: e.message }, 'settled study could not be routed; will try again');
    }
  }
}
