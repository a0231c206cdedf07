/** Whether the watched disks have room for new work. */
export type StorageState = 'ok' | 'pressure';

/** Which folder of the service a watched path is; reasons and logs name the kind, not patient data. */
export type StorageKind = 'data dir' | 'received dir';

/** One look at one watched path; freeBytes is absent when the look failed. */
export interface PathReading {
  kind: StorageKind;
  path: string;
  freeBytes?: number;
  /** Why the look failed (errno code), when it did. */
  error?: string;
}

export interface Watermarks {
  /** Below this many free bytes on any watched path: pressure. */
  minFreeBytes: number;
  /** Under pressure, back to ok only once every watched path has at least this many. */
  resumeFreeBytes: number;
}

/**
 * The watermark decision with hysteresis: leaving pressure needs more room than entering it, so a disk that hovers
 * around one threshold does not flap. `refused` means a write failed for lack of space since the last decision:
 * the disk's own answer beats statfs (quotas, reserved blocks, a write larger than the headroom), so it is pressure
 * whatever the free bytes say. Paths that could not be read are left out; with none readable the state stays.
 */
export function nextStorageState(previous: StorageState, readings: readonly PathReading[], marks: Watermarks, refused = false): StorageState {
  if (refused) return 'pressure';
  const free = readings.flatMap((r) => (r.freeBytes === undefined ? [] : [r.freeBytes]));
  if (free.length === 0) return previous;
  const lowest = Math.min(...free);
  if (previous === 'ok') return lowest < marks.minFreeBytes ? 'pressure' : 'ok';
  return lowest >= marks.resumeFreeBytes ? 'ok' : 'pressure';
}

/** Why the watermarks are not valid, or undefined (start-up check; config errors list it with the others). */
export function watermarkProblem(marks: Watermarks): string | undefined {
  if (marks.resumeFreeBytes < marks.minFreeBytes) {
    return `storage.resumeFreeBytes (${marks.resumeFreeBytes}) must be at least storage.minFreeBytes (${marks.minFreeBytes}): intake resumes only above the level where it stops`;
  }
  return undefined;
}
