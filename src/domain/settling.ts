import { createHash } from 'node:crypto';
import type { StudyEvent, StudyInfo } from './study';

/**
 * When is a study complete enough to route? (docs/reliability.md, "Complete studies only"). An intake's own signal
 * (Orthanc's StableStudy, a quiet push, a settled QIDO count) says a study stopped changing for a moment; a sender
 * that pauses longer than that moment would get one report per pause, each withdrawn a few seconds later. So the
 * service looks again before routing: a study is routed once it has been unchanged for a quiet time that grows with
 * the pauses this study has shown (gapFactor × the longest gap seen between two changes), capped by the completion
 * window. A study whose sender reported failed instances is held until it is sent again; a series with fewer
 * instances than its expected count is held for at most the completion window.
 */
export interface SettlePolicy {
  /** Quiet time before a study is routed (ms), at least. */
  quietMs: number;
  /** The quiet time is at least this many times the longest gap seen between two changes of the study. */
  gapFactor: number;
  /** Longest quiet time ever asked for, and how long a study is remembered after its last change (ms). */
  windowMs: number;
}

/** What one look at a study saw. */
export interface StudySnapshot {
  /** Hash of the study's series and instance UIDs. */
  fingerprint: string;
  instanceCount: number;
  /** Series whose instance count is below what the PACS or the headers expect (e.g. "53 of 91"), if any. */
  shortSeries?: string;
}

export type SettlingStatus =
  /** waiting for the quiet time to pass */
  | 'settling'
  /** not routable as it is: failed instances (until re-sent), or an expected count not reached (until the window ends) */
  | 'held'
  /** routed; remembered until windowMs after its last change, so a later change is measured against it */
  | 'routed';

export interface SettlingRecord {
  studyInstanceUid: string;
  status: SettlingStatus;
  /** The latest event for the study (its source and handle are what routing uses). */
  event: StudyEvent;
  firstSeenAt: number;
  /** When a look last saw the study differ from the look before (ms since epoch). */
  lastChangeAt: number;
  fingerprint: string;
  instanceCount: number;
  largestGapMs: number;
  routedFingerprint?: string;
  /** Why it is held (no patient data). */
  heldReason?: string;
  /** When to look again (settling, held) or forget it (routed). */
  dueAt: number;
}

/**
 * Series that are results, not acquisitions (segmentations, reports, presentation states, key objects, registrations,
 * documents): our own SEG stored into the study must not count as the study changing, nor a viewer's annotations.
 */
const DERIVED_MODALITIES = new Set(['SEG', 'SR', 'PR', 'KO', 'REG', 'DOC', 'RTSTRUCT', 'PLAN']);

/** The fingerprint of a study's acquired content: the UIDs of its image series and instances, in no particular order. */
export function studySnapshot(study: StudyInfo): StudySnapshot {
  const acquired = study.series.filter((s) => !DERIVED_MODALITIES.has(s.modality.toUpperCase()));
  const uids = acquired.flatMap((s) => s.instances.map((i) => `${s.seriesInstanceUid}/${i.sopInstanceUid}`)).sort();
  const snapshot: StudySnapshot = { fingerprint: createHash('sha256').update(uids.join('\n')).digest('hex'), instanceCount: uids.length };
  const short = acquired.filter((s) => s.expectedInstances !== undefined && s.instances.length < s.expectedInstances);
  if (short.length > 0) snapshot.shortSeries = short.map((s) => `${s.instances.length} of ${s.expectedInstances}`).join(', ');
  return snapshot;
}

/** What one instance's header says about the size of its acquisition. */
export interface AcquisitionHint {
  /** ImagesInAcquisition (0020,1002). */
  imagesInAcquisition?: number;
  /** AcquisitionNumber (0020,0012). */
  acquisitionNumber?: string;
}

/**
 * A series' expected instance count from its headers: only when every instance names the same ImagesInAcquisition
 * and they all belong to one acquisition (a series of several acquisitions has no total in its headers).
 */
export function expectedInstancesFrom(hints: readonly AcquisitionHint[]): number | undefined {
  const first = hints[0];
  const n = first?.imagesInAcquisition;
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 100_000) return undefined;
  const sameCount = hints.every((h) => h.imagesInAcquisition === n);
  const oneAcquisition = new Set(hints.map((h) => h.acquisitionNumber ?? '')).size === 1;
  return sameCount && oneAcquisition ? n : undefined;
}

export function quietTimeMs(record: Pick<SettlingRecord, 'largestGapMs'>, policy: SettlePolicy): number {
  return Math.min(policy.windowMs, Math.max(policy.quietMs, Math.round(policy.gapFactor * record.largestGapMs)));
}

/** Folds one look (after an event, or at the due time) into the study's record. */
export function observe(record: SettlingRecord | undefined, event: StudyEvent, snapshot: StudySnapshot, now: number, policy: SettlePolicy): SettlingRecord {
  const next: SettlingRecord = record
    ? { ...record, event }
    : { studyInstanceUid: event.studyInstanceUid, status: 'settling', event, firstSeenAt: now, lastChangeAt: now, fingerprint: snapshot.fingerprint, instanceCount: snapshot.instanceCount, largestGapMs: 0, dueAt: now };
  if (record && snapshot.fingerprint !== record.fingerprint) {
    next.largestGapMs = Math.max(record.largestGapMs, now - record.lastChangeAt);
    next.lastChangeAt = now;
    next.fingerprint = snapshot.fingerprint;
    next.instanceCount = snapshot.instanceCount;
  }
  // Every look starts a new wait; the due-time look decides (a repeat of routed content is routed again, which
  // creates nothing but revives jobs that failed for retryable reasons).
  next.status = 'settling';
  delete next.heldReason;
  next.dueAt = next.lastChangeAt + quietTimeMs(next, policy);
  return next;
}

export type SettleDecision =
  | { action: 'route'; warning?: string }
  | { action: 'wait'; record: SettlingRecord }
  | { action: 'hold'; record: SettlingRecord };

/**
 * At the due time, after a fresh look folded in by `observe`: route, wait longer (it changed), or hold it.
 * The latest event's `incomplete` is the intake's own report that instances of the study failed to arrive.
 */
export function decide(record: SettlingRecord, now: number, policy: SettlePolicy, snapshot: StudySnapshot): SettleDecision {
  if (record.dueAt > now) return { action: 'wait', record };
  const quietFor = now - record.lastChangeAt;
  const incomplete = record.event.incomplete;
  if (incomplete) {
    return { action: 'hold', record: { ...record, status: 'held', heldReason: incomplete, dueAt: now + quietTimeMs(record, policy) } };
  }
  if (snapshot.shortSeries) {
    if (quietFor < policy.windowMs) {
      return {
        action: 'hold',
        record: { ...record, status: 'held', heldReason: `series with fewer instances than expected (${snapshot.shortSeries})`, dueAt: Math.min(record.lastChangeAt + policy.windowMs, now + quietTimeMs(record, policy)) },
      };
    }
    return { action: 'route', warning: `routed after the completion window although a series has fewer instances than expected (${snapshot.shortSeries})` };
  }
  return { action: 'route' };
}

/** The record after routing: remembered for the completion window, so a later change is measured against it. */
export function routed(record: SettlingRecord, policy: SettlePolicy): SettlingRecord {
  const next: SettlingRecord = { ...record, status: 'routed', routedFingerprint: record.fingerprint, dueAt: record.lastChangeAt + policy.windowMs };
  delete next.heldReason;
  return next;
}
