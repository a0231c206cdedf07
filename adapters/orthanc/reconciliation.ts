import { AppError } from '../../src/domain/errors';
import type { StudyEvent } from '../../src/domain/study';
import { silentLogger, type Logger } from '../../src/logging';
import { deliverEvent } from '../intake/event-failure';
import type { CursorStore } from './cursor-store';
import { OrthancRest, type OrthancConnection } from './orthanc-rest';

export interface OrthancReconciliationOptions extends OrthancConnection {
  cursorStore: CursorStore;
  /** Key of the watermark in the store; default "orthanc-reconciliation". Use one per Orthanc. */
  watermarkName?: string;
  /**
   * Studies whose LastUpdate is up to this long before the watermark are looked at again (ms); default 5 min.
   * Covers writes that Orthanc stamped before a sweep listed them but committed after, and its 1 s resolution.
   */
  marginMs?: number;
  /** Studies per /studies page; default 200. */
  pageSize?: number;
  /** With no stored watermark: true replays every stable study, false (default) starts from the newest one. */
  fromStart?: boolean;
  logger?: Logger;
}

export interface SweepOutcome {
  /** Studies listed (all of Orthanc). */
  listed: number;
  /** Studies updated since the watermark minus the margin. */
  candidates: number;
  /** Events delivered (onEvent resolved). */
  emitted: number;
  /** Candidates not yet stable: left to the change feed or the next sweep. */
  unstable: number;
  /** Candidates whose onEvent failed and will be delivered again by the next sweep. */
  failed: number;
  /** The stored watermark after the sweep (Orthanc time, YYYYMMDDTHHMMSS; "" = from the start). */
  watermark: string;
}

interface OrthancStudy {
  ID: string;
  IsStable?: boolean;
  LastUpdate?: string;
  MainDicomTags?: { StudyInstanceUID?: string };
}

const ORTHANC_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/;

/** Orthanc's "20261123T114048" minus ms, in the same format; both sides read on Orthanc's clock, so no zone math. */
export function orthancTimeMinus(time: string, ms: number): string {
  const m = ORTHANC_TIME.exec(time);
  if (!m) return '';
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const shifted = new Date(Date.UTC(y, mo - 1, d, h, mi, s) - ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(shifted.getUTCFullYear(), 4)}${pad(shifted.getUTCMonth() + 1)}${pad(shifted.getUTCDate())}T${pad(shifted.getUTCHours())}${pad(shifted.getUTCMinutes())}${pad(shifted.getUTCSeconds())}`;
}

/**
 * The safety net under the change feed: lists Orthanc's studies page by page and delivers, through the same onEvent,
 * every stable study updated since a durable watermark (its LastUpdate, minus a margin). It finds studies whose
 * StableStudy change was never read: the service was down while the change log was cleared or pruned, or Orthanc
 * restarted before the study became stable. Repeats are harmless (jobs are keyed by the instance set).
 *
 * The watermark only moves to a LastUpdate every study at or before which was delivered: it stays at or before any
 * study still unstable or whose delivery failed, and does not move at all when studies were deleted mid-sweep
 * (page offsets shift, so one could have been skipped). It is Orthanc's own clock throughout.
 */
export class OrthancReconciliation {
  private readonly rest: OrthancRest;
  private readonly name: string;
  private readonly marginMs: number;
  private readonly pageSize: number;
  private readonly logger: Logger;

  constructor(private readonly options: OrthancReconciliationOptions) {
    this.rest = new OrthancRest(options);
    this.name = options.watermarkName ?? 'orthanc-reconciliation';
    this.marginMs = options.marginMs ?? 300_000;
    this.pageSize = options.pageSize ?? 200;
    if (!Number.isSafeInteger(this.pageSize) || this.pageSize < 1) throw new AppError('CONFIG_INVALID', 'reconciliation pageSize must be a positive integer');
    this.logger = (options.logger ?? silentLogger).child({ intake: this.name });
  }

  /**
   * One sweep; throws only when Orthanc cannot be listed or the watermark not stored (nothing moved then). An
   * aborted signal ends it between studies without moving the watermark (the next sweep covers the rest).
   */
  async sweep(onEvent: (event: StudyEvent) => Promise<void>, signal?: AbortSignal): Promise<SweepOutcome> {
    const stored = await this.options.cursorStore.getCursor(this.name);
    const firstRun = stored === undefined;
    if (stored !== undefined && stored !== '' && !ORTHANC_TIME.test(stored)) {
      throw new AppError('CONFIG_INVALID', `stored watermark ${this.name} is not an Orthanc time (YYYYMMDDTHHMMSS)`);
    }
    // First run from now: only learn the newest LastUpdate, deliver nothing (like the change feed starting at "last").
    const deliver = !firstRun || Boolean(this.options.fromStart);
    const since = stored ? orthancTimeMinus(stored, this.marginMs) : '';
    const countBefore = await this.countStudies();

    const outcome: SweepOutcome = { listed: 0, candidates: 0, emitted: 0, unstable: 0, failed: 0, watermark: stored ?? '' };
    let newest = stored ?? '';
    // The watermark may not pass the oldest study we still owe a delivery.
    let pending: string | undefined;
    const seen = new Set<string>();
    for (let offset = 0; ; offset += this.pageSize) {
      const page = await this.rest.getJson<OrthancStudy[]>(`/studies?expand&since=${offset}&limit=${this.pageSize}`);
      if (!Array.isArray(page)) throw new AppError('PACS_REJECTED', 'Orthanc /studies did not answer a list');
      for (const study of page) {
        if (signal?.aborted) {
          this.logger.info({ ...outcome }, 'Orthanc reconciliation sweep stopped early; watermark kept');
          return outcome;
        }
        if (seen.has(study.ID)) continue;
        seen.add(study.ID);
        outcome.listed++;
        const lastUpdate = study.LastUpdate ?? '';
        if (lastUpdate > newest) newest = lastUpdate;
        if (!deliver || lastUpdate < since) continue;
        outcome.candidates++;
        if (study.IsStable !== true) {
          outcome.unstable++;
          pending = minTime(pending, lastUpdate);
          continue;
        }
        const uid = study.MainDicomTags?.StudyInstanceUID;
        if (!uid) continue;
        if (await deliverEvent({ studyInstanceUid: uid, source: 'orthanc', sourceRef: study.ID, receivedAt: new Date().toISOString() }, onEvent, this.logger, 'the reconciliation sweep')) {
          outcome.emitted++;
        } else {
          outcome.failed++;
          pending = minTime(pending, lastUpdate);
        }
      }
      if (page.length < this.pageSize) break;
    }

    const countAfter = await this.countStudies();
    if (countAfter < countBefore) {
      this.logger.info({ countBefore, countAfter }, 'studies were deleted during the sweep; watermark kept so none is skipped');
    } else {
      // First run from now: a watermark one margin and a second ahead, so the next sweep starts just after the newest
      // study and does not pick up studies that were already there (the change feed skips those too).
      const next = firstRun && !deliver ? orthancTimeMinus(newest, -this.marginMs - 1000) : pending !== undefined && pending < newest ? pending : newest;
      if (next !== (stored ?? '') || firstRun) {
        await this.options.cursorStore.setCursor(this.name, next);
        outcome.watermark = next;
      }
    }
    this.logger.info({ ...outcome, firstRun }, 'Orthanc reconciliation sweep done');
    return outcome;
  }

  private async countStudies(): Promise<number> {
    const stats = await this.rest.getJson<{ CountStudies?: number }>('/statistics');
    return typeof stats.CountStudies === 'number' ? stats.CountStudies : 0;
  }
}

function minTime(a: string | undefined, b: string): string {
  return a === undefined || b < a ? b : a;
}
