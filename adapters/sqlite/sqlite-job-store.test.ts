import { mkdtempSync } from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import { jobStoreContract, spec } from '../../test/support/job-store-contract';
import { SqliteJobStore } from './sqlite-job-store';

jobStoreContract('SqliteJobStore', () => new SqliteJobStore(':memory:'));

describe('SqliteJobStore durability', () => {
  it('when the store is reopened from its file, then jobs and cursors are still there', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'jobs-')), 'jobs.db');
    const first = new SqliteJobStore(file);
    const { job } = await first.enqueue(spec());
    await first.claimNext(new Date());
    await first.setCursor('orthanc', '42');
    await first.close();
    const second = new SqliteJobStore(file);
    expect((await second.get(job.id))?.state).toBe('running');
    expect(await second.requeueInterrupted({ maxInterruptions: 5 })).toEqual({ requeued: 1, parked: [] });
    expect(await second.getCursor('orthanc')).toBe('42');
    expect((await second.enqueue(spec())).created).toBe(false);
    await second.close();
  });
});

describe('SqliteJobStore migrations', () => {
  it('when a database from before schema versioning is opened, then its jobs gain the new columns and keep their data', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'jobs-v0-')), 'jobs.db');
    // The schema as release 0.1 wrote it (user_version 0), with one running job in it.
    const old = new Database(file);
    old.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
      instance_uids TEXT NOT NULL, model_id TEXT NOT NULL, model_version TEXT NOT NULL, model_digest TEXT NOT NULL, source TEXT NOT NULL,
      source_ref TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, stage TEXT, last_error TEXT, not_before TEXT, result TEXT,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);`);
    old.prepare(`INSERT INTO jobs VALUES ('j1', 'k1', '1.2', '1.2.3', '["1.2.3.4"]', 'm', '1', 'd', 'orthanc', NULL, 'running', 3, 'infer', NULL, NULL, NULL, 't', 't')`).run();
    old.close();

    const store = new SqliteJobStore(file);
    expect(await store.get('j1')).toMatchObject({ state: 'running', attempts: 3, interruptions: 0, stage: 'infer' });
    expect(await store.requeueInterrupted({ maxInterruptions: 5 })).toEqual({ requeued: 1, parked: [] });
    expect(await store.get('j1')).toMatchObject({ state: 'queued', attempts: 2, interruptions: 1 });
    expect(store.database.pragma('user_version', { simple: true })).toBe(2);
    await store.close();
    // Opening again applies nothing twice.
    const again = new SqliteJobStore(file);
    expect((await again.get('j1'))?.interruptions).toBe(1);
    await again.close();
  });

  it('when the database is newer than this program, then opening it fails with a clear reason', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'jobs-new-')), 'jobs.db');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteJobStore(file)).toThrow(/schema version 99, newer than this program/);
  });
});
