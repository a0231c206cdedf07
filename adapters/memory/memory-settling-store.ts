import type { SettlingRecord } from '../../src/domain/settling';
import type { SettlingStore } from '../../src/ports/settling-store';

/** In-memory twin of the SQLite settling store; same contract (test/support/settling-store-contract.ts). */
export class MemorySettlingStore implements SettlingStore {
  private readonly records = new Map<string, SettlingRecord>();

  async get(uid: string): Promise<SettlingRecord | undefined> {
    const r = this.records.get(uid);
    return r ? structuredClone(r) : undefined;
  }

  async put(record: SettlingRecord): Promise<void> {
    this.records.set(record.studyInstanceUid, structuredClone(record));
  }

  async remove(uid: string): Promise<void> {
    this.records.delete(uid);
  }

  async due(now: number, limit: number): Promise<SettlingRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async list(filter: { status?: SettlingRecord['status']; limit?: number } = {}): Promise<SettlingRecord[]> {
    return [...this.records.values()]
      .filter((r) => !filter.status || r.status === filter.status)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, filter.limit ?? 100)
      .map((r) => structuredClone(r));
  }
}
