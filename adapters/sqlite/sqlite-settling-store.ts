import type Database from 'better-sqlite3';
import type { SettlingRecord } from '../../src/domain/settling';
import type { SettlingStore } from '../../src/ports/settling-store';

/**
 * The settling store in the job database (table settling_studies, created by the job store's migrations): a study
 * recorded here survives a restart, so an event the intake has acknowledged is never lost before routing.
 */
export class SqliteSettlingStore implements SettlingStore {
  constructor(private readonly db: Database.Database) {}

  async get(uid: string): Promise<SettlingRecord | undefined> {
    const row = this.db.prepare('SELECT record FROM settling_studies WHERE study_uid = ?').get(uid) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as SettlingRecord) : undefined;
  }

  async put(record: SettlingRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO settling_studies (study_uid, record, due_at) VALUES (?, ?, ?)
         ON CONFLICT (study_uid) DO UPDATE SET record = excluded.record, due_at = excluded.due_at`,
      )
      .run(record.studyInstanceUid, JSON.stringify(record), record.dueAt);
  }

  async remove(uid: string): Promise<void> {
    this.db.prepare('DELETE FROM settling_studies WHERE study_uid = ?').run(uid);
  }

  async due(now: number, limit: number): Promise<SettlingRecord[]> {
    const rows = this.db.prepare('SELECT record FROM settling_studies WHERE due_at <= ? ORDER BY due_at LIMIT ?').all(now, limit) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as SettlingRecord);
  }

  async list(filter: { status?: SettlingRecord['status']; limit?: number } = {}): Promise<SettlingRecord[]> {
    const rows = filter.status
      ? (this.db.prepare(`SELECT record FROM settling_studies WHERE json_extract(record, '$.status') = ? ORDER BY due_at LIMIT ?`).all(filter.status, filter.limit ?? 100) as { record: string }[])
      : (this.db.prepare('SELECT record FROM settling_studies ORDER BY due_at LIMIT ?').all(filter.limit ?? 100) as { record: string }[]);
    return rows.map((r) => JSON.parse(r.record) as SettlingRecord);
  }
}
