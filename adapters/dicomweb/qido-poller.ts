import { AppError } from '../../src/domain/errors';
import { logHash } from '../../src/domain/identity';
import type { StudyEvent } from '../../src/domain/study';
import { silentLogger, type Logger } from '../../src/logging';
import type { StudyEventSource } from '../../src/ports/study-events';
import { deliverEvent } from '../intake/event-failure';
import { assertCronExpression, PeriodicTask } from '../intake/periodic-task';
import type { CursorStore } from '../orthanc/cursor-store';
import type { DicomWebAuth } from './dicomweb-adapter';
import { dicomWebError } from './errors';
import { OutboundTarget } from '../outbound-auth/outbound-target';
import { addDays, localDate, markEmitted, nextSince, observe, parseState, prune, type SettleState } from './qido-settling';

export interface QidoPollerOptions {
  /** DICOMweb service root (QIDO-RS /studies below it). */
  url: string;
  auth?: DicomWebAuth;
  /** The PACS's outbound target (credentials, TLS); default: from auth. */
  target?: OutboundTarget;
  /** Where the settling state and watermark live (the job store in the service). */
  stateStore: CursorStore;
  /** Key in the store; default "qido:" + a hash of the URL, so two PACS never share state. */
  stateName?: string;
  /** node-cron expression; a poll also runs once at start. */
  schedule: string;
  /** A study is emitted once its instance and series counts were unchanged this long (ms). */
  settleMs: number;
  /** Days before the watermark date that every query also covers (StudyDate is local time at the PACS). */
  lookbackDays: number;
  /** Studies per QIDO page (limit/offset); default 100. */
  pageSize?: number;
  /** Most studies remembered in the state; default 5000. */
  maxTracked?: number;
  /**
   * With no stored state: false (default) makes the first poll a baseline, so studies already in the window are not
   * processed (only studies that appear or change later are); true processes them once they settled.
   */
  fromStart?: boolean;
  /** Per-request timeout (ms); default 30 s. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface PollOutcome {
  /** Studies the query window returned. */
  listed: number;
  /** Events delivered this poll (onEvent resolved). */
  emitted: number;
  /** Studies still settling (new or changed counts, or not yet settleMs old). */
  settling: number;
  /** Deliveries that failed and will be retried at the next poll. */
  failed: number;
  /** StudyDate range queried, e.g. "20261122-". */
  window: string;
}

type DicomJson = Record<string, { Value?: unknown[] } | undefined>;

const STUDY_UID = '0020000D';
const STUDY_DATE = '00080020';
const SERIES_COUNT = '00201206';
const INSTANCE_COUNT = '00201208';

function first(ds: DicomJson, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}
function count(ds: DicomJson, tag: string): number {
  const v = Number(first(ds, tag));
  return Number.isFinite(v) ? v : -1;
}

/**
 * Intake for any DICOMweb PACS: QIDO-RS /studies on a cron schedule over a StudyDate window that starts at a durable
 * watermark minus a lookback, page by page. A study becomes a StudyEvent once NumberOfStudyRelatedInstances and
 * NumberOfStudyRelatedSeries stayed the same for settleMs; it is emitted again if its counts change later (the
 * job's instance set decides whether that is new work). State (counts, first-seen times, what was emitted, the
 * watermark) is stored as JSON after every emission, so a restart neither loses a settling study nor repeats one.
 * See docs/decisions for why a StudyDate window and what it cannot see.
 */
export class QidoPoller implements StudyEventSource {
  readonly name: string;
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly target: OutboundTarget;
  private readonly pageSize: number;
  private readonly maxTracked: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private task: PeriodicTask | undefined;
  private countsMissingWarned = false;

  constructor(private readonly options: QidoPollerOptions) {
    assertCronExpression(options.schedule, 'dicomweb.pollSchedule');
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.name = options.stateName ?? `qido:${logHash(this.baseUrl)}`;
    this.pageSize = options.pageSize ?? 100;
    this.maxTracked = options.maxTracked ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.headers = { accept: 'application/dicom+json' };
    this.target = options.target ?? OutboundTarget.legacy('pacs', options.auth);
    this.logger = (options.logger ?? silentLogger).child({ intake: this.name });
  }

  async start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    if (this.task) throw new AppError('INTERNAL', `QIDO poller ${this.name} already started`);
    this.task = new PeriodicTask({ name: this.name, schedule: this.options.schedule, runAtStart: true, logger: this.logger }, async (signal) => void (await this.poll(onEvent, signal)));
    this.task.start();
  }

  /** Resolves once the poll in flight ended; its state is stored by then. */
  async stop(): Promise<void> {
    await this.task?.stop();
    this.task = undefined;
  }

  /**
   * One poll. Throws only when the PACS cannot be queried or the state not stored (then nothing was lost). An
   * aborted signal ends it between studies; what was emitted is stored, the watermark does not move.
   */
  async poll(onEvent: (event: StudyEvent) => Promise<void>, signal?: AbortSignal): Promise<PollOutcome> {
    const stored = await this.options.stateStore.getCursor(this.name);
    const state = parseState(stored);
    // First poll ever without fromStart: record what is there as handled, like the Orthanc feed starting at "last".
    const baseline = stored === undefined && !this.options.fromStart;
    const now = new Date();
    const today = localDate(now);
    const from = addDays(state.since && state.since < today ? state.since : today, -this.options.lookbackDays);
    const outcome: PollOutcome = { listed: 0, emitted: 0, settling: 0, failed: 0, window: `${from}-` };
    const seen = new Set<string>();

    for (let offset = 0; ; offset += this.pageSize) {
      const page = await this.query(from, offset);
      for (const ds of page) {
        if (signal?.aborted) {
          this.logger.info({ ...outcome }, 'QIDO poll stopped early');
          return outcome;
        }
        const uid = first(ds, STUDY_UID);
        if (typeof uid !== 'string' || uid === '') continue;
        const key = logHash(uid);
        if (seen.has(key)) continue;
        seen.add(key);
        outcome.listed++;
        const studyDate = first(ds, STUDY_DATE);
        const observed = { n: count(ds, INSTANCE_COUNT), s: count(ds, SERIES_COUNT), d: typeof studyDate === 'string' ? studyDate : '' };
        if (observed.n < 0) this.warnCountsMissing();
        const what = observe(state, key, observed, Date.now(), this.options.settleMs);
        if (baseline) {
          markEmitted(state, key);
          continue;
        }
        if (what === 'emitted') continue;
        if (what !== 'due') {
          outcome.settling++;
          continue;
        }
        if (await deliverEvent({ studyInstanceUid: uid, source: 'dicomweb', receivedAt: new Date().toISOString() }, onEvent, this.logger, 'the QIDO poller')) {
          markEmitted(state, key);
          outcome.emitted++;
          await this.save(state);
        } else {
          outcome.failed++;
        }
      }
      if (page.length < this.pageSize) break;
    }

    // The listing was complete: forget what left the window, and move the watermark.
    const dropped = prune(state, seen, this.maxTracked);
    state.since = nextSince(state, today);
    await this.save(state);
    this.logger.info({ ...outcome, tracked: Object.keys(state.studies).length, dropped, ...(baseline ? { baseline } : {}) }, 'QIDO poll done');
    return outcome;
  }


  private async query(from: string, offset: number): Promise<DicomJson[]> {
    const params = new URLSearchParams({ StudyDate: `${from}-`, limit: String(this.pageSize), offset: String(offset) });
    params.append('includefield', STUDY_DATE);
    params.append('includefield', SERIES_COUNT);
    params.append('includefield', INSTANCE_COUNT);
    let res: Response;
    try {
      res = await this.target.fetch(`${this.baseUrl}/studies?${params.toString()}`, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw dicomWebError({ status: 0, cause: err }, 'QIDO search for studies');
    }
    if (res.status === 204) return [];
    if (!res.ok) {
      await res.body?.cancel();
      throw dicomWebError({ status: res.status }, 'QIDO search for studies');
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new AppError('PACS_REJECTED', 'DICOMweb QIDO search for studies: the answer is not DICOM JSON', { cause: err });
    }
    if (!Array.isArray(body)) throw new AppError('PACS_REJECTED', 'DICOMweb QIDO search for studies: the answer is not a JSON array');
    return body.filter((d): d is DicomJson => typeof d === 'object' && d !== null);
  }

  private async save(state: SettleState): Promise<void> {
    await this.options.stateStore.setCursor(this.name, JSON.stringify(state));
  }

  private warnCountsMissing(): void {
    if (this.countsMissingWarned) return;
    this.countsMissingWarned = true;
    this.logger.warn('the PACS sends no NumberOfStudyRelatedInstances: studies settle by time since first seen only');
  }
}
