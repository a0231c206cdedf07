import { AppError, toAppError } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import type { StudyEvent } from '../../src/domain/study';
import { silentLogger, type Logger } from '../../src/logging';
import type { StudyEventSource } from '../../src/ports/study-events';
import { isStudyProblem } from '../intake/event-failure';
import type { CursorStore } from './cursor-store';
import { OrthancRest, type OrthancConnection } from './orthanc-rest';

export interface OrthancChangeFeedOptions extends OrthancConnection {
  cursorStore: CursorStore;
  /** Key of the cursor in the store; default "orthanc-changes". Use one per Orthanc. */
  cursorName?: string;
  /** Pause between polls when Orthanc has nothing new (ms); default 2000. */
  pollIntervalMs?: number;
  /** Changes per /changes request; default 100 (Orthanc caps it at 10000). */
  batchLimit?: number;
  /**
   * With no stored cursor: false (default) starts at Orthanc's current last change, so studies already in the
   * PACS are not processed; true starts at sequence 0 and replays every StableStudy Orthanc still remembers.
   */
  fromStart?: boolean;
  /** Backoff after an error: doubles from initialMs up to maxMs; defaults 1 s and 60 s. */
  backoff?: { initialMs: number; maxMs: number };
  logger?: Logger;
}

interface OrthancChange {
  ChangeType: string;
  ID: string;
  Seq: number;
  ResourceType?: string;
}
interface OrthancChanges {
  Changes: OrthancChange[];
  Done: boolean;
  Last: number;
}

/**
 * Intake from Orthanc's change log: each "StableStudy" change becomes a StudyEvent. The durable cursor (the last
 * handled change sequence) moves only after onEvent resolved for every change up to it, so a crash or an onEvent
 * failure means the event is delivered again (jobs are idempotent), never lost. Errors are logged and retried with a
 * capped exponential backoff; the feed never throws out of its loop.
 */
export class OrthancChangeFeed implements StudyEventSource {
  readonly name: string;
  private readonly rest: OrthancRest;
  private readonly cursorName: string;
  private readonly pollIntervalMs: number;
  private readonly batchLimit: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly logger: Logger;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: OrthancChangeFeedOptions) {
    this.name = options.cursorName ?? 'orthanc-changes';
    this.cursorName = this.name;
    this.rest = new OrthancRest(options);
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.batchLimit = options.batchLimit ?? 100;
    this.backoff = options.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    this.logger = (options.logger ?? silentLogger).child({ intake: this.name });
  }

  async start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    if (this.loop) throw new AppError('INTERNAL', `change feed ${this.name} already started`);
    this.stopping = false;
    this.loop = this.run(onEvent);
  }

  /** Resolves once the poll (and the onEvent call) in flight has ended; the cursor reflects what was handled. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    let failures = 0;
    let cursor: number | undefined;
    while (!this.stopping) {
      let pause = this.pollIntervalMs;
      try {
        cursor ??= await this.initialCursor();
        const { next, done } = await this.pollOnce(cursor, onEvent);
        cursor = next;
        failures = 0;
        if (!done) pause = 0;
      } catch (err) {
        failures += 1;
        pause = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (failures - 1));
        const e = toAppError(err);
        // The message is ours or Orthanc's status line; study identity is only ever logged as a hash.
        this.logger.warn({ code: e.code, err: e.message, failures, retryInMs: pause, ...e.details }, 'Orthanc change feed poll failed; will retry');
        // The stored cursor is the truth after a failure: re-read it so the failed events come again.
        cursor = undefined;
      }
      if (!this.stopping && pause > 0) await this.sleep(pause);
    }
  }

  private async initialCursor(): Promise<number> {
    const stored = await this.options.cursorStore.getCursor(this.cursorName);
    if (stored !== undefined) {
      const seq = Number(stored);
      if (!Number.isSafeInteger(seq) || seq < 0) throw new AppError('CONFIG_INVALID', `stored cursor ${this.cursorName} is not a change sequence number`);
      return seq;
    }
    const start = this.options.fromStart ? 0 : (await this.rest.getJson<OrthancChanges>('/changes?last')).Last;
    // Persist the starting point so a restart does not skip changes made while we were down.
    await this.options.cursorStore.setCursor(this.cursorName, String(start));
    this.logger.info({ cursor: start, fromStart: Boolean(this.options.fromStart) }, 'Orthanc change feed starts without a stored cursor');
    return start;
  }

  /** One /changes page: handles each change in order, storing the cursor after each StableStudy was handled. */
  private async pollOnce(since: number, onEvent: (event: StudyEvent) => Promise<void>): Promise<{ next: number; done: boolean }> {
    const page = await this.rest.getJson<OrthancChanges>(`/changes?since=${since}&limit=${this.batchLimit}`);
    let cursor = since;
    for (const change of page.Changes ?? []) {
      if (this.stopping) return { next: cursor, done: true };
      if (change.ChangeType === 'StableStudy') {
        const event = await this.toEvent(change);
        if (event) await this.deliver(event, change.Seq, onEvent);
        await this.options.cursorStore.setCursor(this.cursorName, String(change.Seq));
      }
      cursor = change.Seq;
    }
    // Other change types need no work, but the cursor moves past them too so the next poll starts after them.
    if (cursor !== since) await this.options.cursorStore.setCursor(this.cursorName, String(cursor));
    return { next: cursor, done: page.Done !== false || (page.Changes ?? []).length === 0 };
  }

  /**
   * onEvent turns the event into jobs; only after it resolved may the cursor pass the change. A failure rethrows
   * (the poll fails, the stored cursor stays, the change comes again after the backoff), except a failure of the
   * study itself, which no retry can fix: that one is logged and passed so it cannot block every later study.
   */
  private async deliver(event: StudyEvent, seq: number, onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    try {
      await onEvent(event);
    } catch (err) {
      const e = toAppError(err);
      if (!isStudyProblem(e)) throw err;
      this.logger.error({ study: logHash(event.studyInstanceUid), seq, code: e.code, err: e.message }, 'study cannot be turned into jobs; change passed');
    }
  }

  private async toEvent(change: OrthancChange): Promise<StudyEvent | undefined> {
    const study = await this.rest.getJsonOrUndefined<{ MainDicomTags?: { StudyInstanceUID?: string } }>(`/studies/${encodeURIComponent(change.ID)}`);
    const studyInstanceUid = study?.MainDicomTags?.StudyInstanceUID;
    if (!studyInstanceUid) {
      // Deleted since it became stable: nothing to process.
      this.logger.info({ orthancStudy: logHash(change.ID), seq: change.Seq }, 'stable study no longer in Orthanc; skipped');
      return undefined;
    }
    return { studyInstanceUid, source: 'orthanc', sourceRef: change.ID, receivedAt: new Date().toISOString() };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
