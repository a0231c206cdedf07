import type { ReceivedStore, RejectionReason } from './received-store';

/** The unit a sender sends a study in: a STOW-RS request, or a C-STORE association. */
export type TransferKind = 'STOW-RS request' | 'C-STORE association';

export interface TransferSummary {
  kind: TransferKind;
  /** Instances refused because the disk had no room (never those refused for being unreadable or too large). */
  failedOutOfResources: number;
  /** How the transfer stopped before its end, e.g. "ended before its closing boundary"; absent when it ended. */
  cutShort?: string;
}

/**
 * Why the studies a transfer stored into are incomplete, or undefined when it ended cleanly. Instances refused as
 * unreadable or too large do not count: re-sending them cannot help, so they must not hold the study.
 */
export function incompleteReason(t: TransferSummary): string | undefined {
  const n = t.failedOutOfResources;
  const notStored = n > 0 ? `${n} instance${n === 1 ? '' : 's'} of a ${t.kind} ${n === 1 ? 'was' : 'were'} not stored (out of resources)` : undefined;
  if (notStored && t.cutShort) return `${notStored} and it ${t.cutShort}; re-send the study`;
  if (notStored) return `${notStored}; re-send the study`;
  if (t.cutShort) return `a ${t.kind} ${t.cutShort}; re-send the study`;
  return undefined;
}

/**
 * One transfer's bookkeeping: the studies it stored into (each gets an in-progress mark before its first instance
 * lands, see IncompleteMarks), its out-of-resources refusals and whether it was cut short. finish() marks those
 * studies incomplete, or clears their older marks when it ended cleanly (a re-send of the study, or of the failed
 * instances only).
 */
export class PushTransfer {
  readonly startedAt = Date.now();
  private readonly studies = new Set<string>();
  private failedOutOfResources = 0;
  private cut: string | undefined;
  private finished: Promise<void> | undefined;

  constructor(
    private readonly store: ReceivedStore,
    readonly kind: TransferKind,
    /** STOW-RS /studies/{uid}: marked too when the transfer failed and the study already has files. */
    private readonly namedStudy?: string,
  ) {}

  /** Called by the store, under the study's lock, before an instance is moved into the study's folder. */
  async enter(studyInstanceUid: string): Promise<void> {
    if (this.studies.has(studyInstanceUid)) return;
    await this.store.marks.begin(studyInstanceUid);
    this.studies.add(studyInstanceUid);
  }

  /** An instance of the transfer was not stored. */
  refused(reason: RejectionReason): void {
    if (reason === 'out-of-resources') this.failedOutOfResources++;
  }

  cutShort(how: string): void {
    this.cut ??= how;
  }

  /** Marks or clears the studies it touched; once, however often it is called (end and close both call it). */
  finish(): Promise<void> {
    this.finished ??= (async () => {
      const reason = incompleteReason({ kind: this.kind, failedOutOfResources: this.failedOutOfResources, ...(this.cut ? { cutShort: this.cut } : {}) });
      const mark = reason === undefined ? undefined : { reason, failed: this.failedOutOfResources };
      const targets = new Map([...this.studies].map((uid) => [uid, true]));
      if (mark && this.namedStudy && !targets.has(this.namedStudy) && (await this.store.hasStudyFolder(this.namedStudy))) targets.set(this.namedStudy, false);
      for (const [uid, entered] of targets) {
        await this.store.withStudyLock(uid, () => this.store.marks.end(uid, { startedAt: this.startedAt, entered, ...(mark ? { mark } : {}) }));
      }
    })();
    return this.finished;
  }

  /** Figures for the log line of the transfer. */
  figures(): { studies: number; failedOutOfResources: number; cutShort?: string } {
    return { studies: this.studies.size, failedOutOfResources: this.failedOutOfResources, ...(this.cut ? { cutShort: this.cut } : {}) };
  }
}
