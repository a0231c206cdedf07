import type { SettlingRecord } from '../domain/settling';

/**
 * Studies between their intake event and routing (src/domain/settling.ts). Durable, because the intake has moved its
 * cursor past the event once it is recorded here: a restart must still route the study.
 */
export interface SettlingStore {
  get(studyInstanceUid: string): Promise<SettlingRecord | undefined>;
  put(record: SettlingRecord): Promise<void>;
  remove(studyInstanceUid: string): Promise<void>;
  /** Records due at or before `now`, earliest first. */
  due(now: number, limit: number): Promise<SettlingRecord[]>;
  /** Records in a state, earliest due first (for the held view). */
  list(filter?: { status?: SettlingRecord['status']; limit?: number }): Promise<SettlingRecord[]>;
}
