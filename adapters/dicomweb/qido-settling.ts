/**
 * Completeness by settling, for a PACS that has no "study is complete" signal: a study becomes an event only once
 * its instance and series counts were the same for settleMs. Pure state transitions; the poller does the I/O and
 * persists the state as JSON (so a restart neither forgets a settling study nor emits an emitted one again).
 */

/** What the poller remembers per study (keyed by a hash of the Study Instance UID). Short keys keep the JSON small. */
export interface TrackedStudy {
  /** NumberOfStudyRelatedInstances last seen (-1 when the PACS does not send it). */
  n: number;
  /** NumberOfStudyRelatedSeries last seen (-1 when not sent). */
  s: number;
  /** When these counts were first seen (epoch ms). */
  at: number;
  /** StudyDate (YYYYMMDD) or "" when absent. */
  d: string;
  /** Counts at the last successful emission. */
  e?: [number, number];
}

export interface SettleState {
  v: 1;
  /** Watermark: the StudyDate the next query window starts from (before the lookback), YYYYMMDD. */
  since?: string;
  studies: Record<string, TrackedStudy>;
}

export type Observation = 'new' | 'changed' | 'settling' | 'due' | 'emitted';

export function emptyState(): SettleState {
  return { v: 1, studies: {} };
}

/** Parses stored JSON; anything unreadable gives an empty state (worst case: studies settle again, then dedupe). */
export function parseState(json: string | undefined): SettleState {
  if (!json) return emptyState();
  try {
    const parsed = JSON.parse(json) as Partial<SettleState>;
    if (parsed.v !== 1 || typeof parsed.studies !== 'object' || parsed.studies === null) return emptyState();
    return { v: 1, studies: parsed.studies, ...(typeof parsed.since === 'string' && /^\d{8}$/.test(parsed.since) ? { since: parsed.since } : {}) };
  } catch {
    return emptyState();
  }
}

/**
 * Records one sighting and says what it means: "due" = settled and not yet emitted with these counts (emit it, then
 * markEmitted); "emitted" = already emitted with these counts; "new"/"changed"/"settling" = wait.
 */
export function observe(state: SettleState, key: string, seen: { n: number; s: number; d: string }, now: number, settleMs: number): Observation {
  const tracked = state.studies[key];
  if (!tracked) {
    state.studies[key] = { n: seen.n, s: seen.s, at: now, d: seen.d };
    return settleMs <= 0 ? 'due' : 'new';
  }
  tracked.d = seen.d;
  if (tracked.n !== seen.n || tracked.s !== seen.s) {
    tracked.n = seen.n;
    tracked.s = seen.s;
    tracked.at = now;
    return settleMs <= 0 ? 'due' : 'changed';
  }
  if (tracked.e && tracked.e[0] === seen.n && tracked.e[1] === seen.s) return 'emitted';
  return now - tracked.at >= settleMs ? 'due' : 'settling';
}

export function markEmitted(state: SettleState, key: string): void {
  const tracked = state.studies[key];
  if (tracked) tracked.e = [tracked.n, tracked.s];
}

/**
 * After a complete listing: forgets studies the window no longer returns, then, above maxTracked, the oldest
 * emitted ones, then the oldest others. Returns how many were dropped.
 */
export function prune(state: SettleState, seenKeys: ReadonlySet<string>, maxTracked: number): number {
  let dropped = 0;
  for (const key of Object.keys(state.studies)) {
    if (!seenKeys.has(key)) {
      delete state.studies[key];
      dropped++;
    }
  }
  const entries = Object.entries(state.studies);
  if (entries.length > maxTracked) {
    entries.sort(([, a], [, b]) => Number(Boolean(b.e)) - Number(Boolean(a.e)) || a.at - b.at);
    for (const [key] of entries.slice(0, entries.length - maxTracked)) {
      delete state.studies[key];
      dropped++;
    }
  }
  return dropped;
}

/**
 * The next window start: today, unless a tracked study still owes an emission, in which case its StudyDate (so the
 * window keeps returning it until it settles, even after a long downtime).
 */
export function nextSince(state: SettleState, today: string): string {
  let since = today;
  for (const t of Object.values(state.studies)) {
    const owed = !t.e || t.e[0] !== t.n || t.e[1] !== t.s;
    if (owed && /^\d{8}$/.test(t.d) && t.d < since) since = t.d;
  }
  return since;
}

/** YYYYMMDD of a date in the process's time zone (the PACS's StudyDate is local time too). */
export function localDate(date: Date): string {
  return `${date.getFullYear()}${String(date.getMonth() + 1).padStart(2, '0')}${String(date.getDate()).padStart(2, '0')}`;
}

export function addDays(yyyymmdd: string, days: number): string {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  return localDate(new Date(y, m - 1, d + days));
}
