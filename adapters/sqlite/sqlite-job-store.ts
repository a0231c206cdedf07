import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { interruptedError, JOB_STATES, type Dependency, type Job, type JobResult, type JobSpec, type JobState, type Stage } from '../../src/domain/job';
import type { LineageOutputs, LineageResult, LineageSettlement, LineageView } from '../../src/domain/lineage';
import type { ClaimOptions, InterruptedOutcome, JobError, JobFilter, JobStore } from '../../src/ports/job-store';

interface JobRow {
  id: string;
  idempotency_key: string;
  study_uid: string;
  series_uid: string;
  instance_uids: string;
  model_id: string;
  model_version: string;
  model_digest: string;
  source: string;
  source_ref: string | null;
  state: JobState;
  attempts: number;
  interruptions: number;
  waiting_for: string | null;
  waiting_since: string | null;
  stage: string | null;
  last_error: string | null;
  not_before: string | null;
  result: string | null;
  created_at: string;
  updated_at: string;
}

/** Version 1: the first schema (databases from before versioning have user_version 0 and these tables). */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  study_uid TEXT NOT NULL,
  series_uid TEXT NOT NULL,
  instance_uids TEXT NOT NULL,
  model_id TEXT NOT NULL,
  model_version TEXT NOT NULL,
  model_digest TEXT NOT NULL,
  source TEXT NOT NULL,
  source_ref TEXT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  stage TEXT,
  last_error TEXT,
  not_before TEXT,
  result TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, not_before, created_at);
CREATE INDEX IF NOT EXISTS jobs_study ON jobs (study_uid);
-- Result lineages (docs/decisions/0009-supersede-policy.md): one row per job that wrote results; seq is the job's
-- creation order (jobs.rowid), so the current result of a lineage is its row with the highest seq.
CREATE TABLE IF NOT EXISTS lineage_results (
  job_id TEXT PRIMARY KEY,
  lineage TEXT NOT NULL,
  seq INTEGER NOT NULL,
  outputs TEXT NOT NULL,
  retired INTEGER NOT NULL DEFAULT 0,
  recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lineage_results_lineage ON lineage_results (lineage, seq);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
`;

/**
 * Version 2 (docs/reliability.md): outage waits and interruptions are not attempts; studies settle before routing.
 */
const SCHEMA_V2 = `
ALTER TABLE jobs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN waiting_for TEXT;
ALTER TABLE jobs ADD COLUMN waiting_since TEXT;
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (state, waiting_for);
CREATE TABLE IF NOT EXISTS settling_studies (
  study_uid TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  due_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS settling_due ON settling_studies (due_at);
`;

/** Migrations in order; the database's user_version says how many are applied. */
const MIGRATIONS = [SCHEMA_V1, SCHEMA_V2];

interface LineageRow {
  job_id: string;
  lineage: string;
  seq: number;
  outputs: string;
  retired: number;
}

function toLineageResult(row: LineageRow): LineageResult {
  return { lineage: row.lineage, jobId: row.job_id, outputs: JSON.parse(row.outputs) as LineageOutputs, retired: row.retired === 1 };
}

function toJob(row: JobRow): Job {
  const job: Job = {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    studyInstanceUid: row.study_uid,
    seriesInstanceUid: row.series_uid,
    instanceUids: JSON.parse(row.instance_uids) as string[],
    modelId: row.model_id,
    modelVersion: row.model_version,
    modelDigest: row.model_digest,
    source: row.source,
    state: row.state,
    attempts: row.attempts,
    interruptions: row.interruptions,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.source_ref !== null) job.sourceRef = row.source_ref;
  if (row.stage !== null) job.stage = row.stage as Stage;
  if (row.waiting_for !== null) job.waitingFor = row.waiting_for as Dependency;
  if (row.waiting_since !== null) job.waitingSince = row.waiting_since;
  if (row.last_error !== null) job.lastError = JSON.parse(row.last_error) as JobError;
  if (row.not_before !== null) job.notBefore = row.not_before;
  if (row.result !== null) job.result = JSON.parse(row.result) as JobResult;
  return job;
}

/** The JobFilter as SQL (same semantics as the in-memory store's filter). */
function whereClause(filter: JobFilter): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    where.push(sql);
    args.push(value);
  };
  if (filter.state) add('state = ?', filter.state);
  if (filter.studyInstanceUid) add('study_uid = ?', filter.studyInstanceUid);
  if (filter.code) add(`json_extract(last_error, '$.code') = ?`, filter.code);
  if (filter.ids) add('id IN (SELECT value FROM json_each(?))', JSON.stringify(filter.ids));
  if (filter.since) add('updated_at >= ?', filter.since);
  if (filter.until) add('updated_at < ?', filter.until);
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/**
 * Job store on one SQLite file (WAL). Every state change is a single statement or a transaction, so a crash at any
 * point leaves each job in a state that start-up can resume from.
 */
export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  /** The open database, for stores that share this file (the settling store). */
  get database(): Database.Database {
    return this.db;
  }

  /** Applies the migrations this file lacks, each in one transaction with its version bump. */
  private migrate(): void {
    const applied = this.db.pragma('user_version', { simple: true }) as number;
    if (applied > MIGRATIONS.length) {
      throw new Error(`the job database has schema version ${applied}, newer than this program knows (${MIGRATIONS.length}); use a newer clinical-ai`);
    }
    MIGRATIONS.slice(applied).forEach((sql, i) => {
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${applied + i + 1}`);
      }).immediate();
    });
  }

  async enqueue(spec: JobSpec): Promise<{ job: Job; created: boolean }> {
    const now = new Date().toISOString();
    const id = randomUUID();
    const insert = this.db.prepare(
      `INSERT INTO jobs (id, idempotency_key, study_uid, series_uid, instance_uids, model_id, model_version, model_digest,
         source, source_ref, state, attempts, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    const info = insert.run(
      id,
      spec.idempotencyKey,
      spec.studyInstanceUid,
      spec.seriesInstanceUid,
      JSON.stringify([...spec.instanceUids].sort()),
      spec.modelId,
      spec.modelVersion,
      spec.modelDigest,
      spec.source,
      spec.sourceRef ?? null,
      now,
      now,
    );
    const job = await this.findByKey(spec.idempotencyKey);
    if (!job) throw new Error('job vanished right after insert');
    return { job, created: info.changes === 1 };
  }

  async claimNext(now: Date, options: ClaimOptions = {}): Promise<Job | undefined> {
    const iso = now.toISOString();
    const down = JSON.stringify(options.unavailable ?? []);
    const claim = this.db.transaction((): JobRow | undefined => {
      const row = this.db
        .prepare(
          `SELECT * FROM jobs
           WHERE (state = 'queued' AND (not_before IS NULL OR not_before <= ?))
              OR (state = 'waiting' AND (waiting_for IS NULL OR waiting_for NOT IN (SELECT value FROM json_each(?))))
           ORDER BY rowid LIMIT 1`,
        )
        .get(iso, down) as JobRow | undefined;
      if (!row) return undefined;
      this.db
        .prepare(`UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?`)
        .run(iso, row.id);
      return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(row.id) as JobRow;
    });
    const row = claim.immediate();
    return row ? toJob(row) : undefined;
  }

  async recordStage(jobId: string, stage: Stage): Promise<void> {
    this.db.prepare('UPDATE jobs SET stage = ?, updated_at = ? WHERE id = ?').run(stage, new Date().toISOString(), jobId);
  }

  async succeed(jobId: string, result: JobResult): Promise<void> {
    this.db
      .prepare(
        `UPDATE jobs SET state = 'succeeded', result = ?, last_error = NULL, not_before = NULL, waiting_for = NULL, waiting_since = NULL,
         updated_at = ? WHERE id = ?`,
      )
      .run(JSON.stringify(result), new Date().toISOString(), jobId);
  }

  async retryLater(jobId: string, error: JobError, notBefore: Date): Promise<void> {
    this.db
      .prepare(`UPDATE jobs SET state = 'queued', last_error = ?, not_before = ?, waiting_for = NULL, waiting_since = NULL, updated_at = ? WHERE id = ?`)
      .run(JSON.stringify(error), notBefore.toISOString(), new Date().toISOString(), jobId);
  }

  async waitForDependency(jobId: string, dependency: Dependency, error: JobError, now: Date): Promise<Job | undefined> {
    this.db
      .prepare(
        `UPDATE jobs SET state = 'waiting', attempts = MAX(0, attempts - 1), last_error = ?, not_before = NULL,
           waiting_since = CASE WHEN waiting_for = ? AND waiting_since IS NOT NULL THEN waiting_since ELSE ? END,
           waiting_for = ?, updated_at = ?
         WHERE id = ?`,
      )
      .run(JSON.stringify(error), dependency, now.toISOString(), dependency, new Date().toISOString(), jobId);
    return this.get(jobId);
  }

  async postpone(jobId: string, reason: JobError, notBefore: Date): Promise<void> {
    this.db
      .prepare(
        `UPDATE jobs SET state = 'queued', attempts = MAX(0, attempts - 1), last_error = ?, not_before = ?, waiting_for = NULL, waiting_since = NULL,
         updated_at = ? WHERE id = ?`,
      )
      .run(JSON.stringify(reason), notBefore.toISOString(), new Date().toISOString(), jobId);
  }

  async fail(jobId: string, error: JobError): Promise<void> {
    this.db
      .prepare(`UPDATE jobs SET state = 'failed', last_error = ?, not_before = NULL, waiting_for = NULL, waiting_since = NULL, updated_at = ? WHERE id = ?`)
      .run(JSON.stringify(error), new Date().toISOString(), jobId);
  }

  async requeueInterrupted(options: { maxInterruptions: number }): Promise<InterruptedOutcome> {
    const now = new Date().toISOString();
    const run = this.db.transaction((): InterruptedOutcome => {
      const rows = this.db.prepare(`SELECT * FROM jobs WHERE state = 'running'`).all() as JobRow[];
      const parked: Job[] = [];
      let requeued = 0;
      for (const row of rows) {
        const interruptions = row.interruptions + 1;
        if (interruptions >= options.maxInterruptions) {
          this.db
            .prepare(
              `UPDATE jobs SET state = 'failed', attempts = MAX(0, attempts - 1), interruptions = ?, last_error = ?, not_before = NULL,
               waiting_for = NULL, waiting_since = NULL, updated_at = ? WHERE id = ?`,
            )
            .run(interruptions, JSON.stringify(interruptedError(interruptions)), now, row.id);
          parked.push(toJob(this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(row.id) as JobRow));
        } else {
          this.db
            .prepare(`UPDATE jobs SET state = 'queued', attempts = MAX(0, attempts - 1), interruptions = ?, not_before = NULL, updated_at = ? WHERE id = ?`)
            .run(interruptions, now, row.id);
          requeued++;
        }
      }
      return { requeued, parked };
    });
    return run.immediate();
  }

  async retry(filter: Omit<JobFilter, 'state' | 'limit'>): Promise<Job[]> {
    const { where, args } = whereClause({ ...filter, state: 'failed' });
    const run = this.db.transaction((): Job[] => {
      const ids = (this.db.prepare(`SELECT id FROM jobs ${where}`).all(...args) as { id: string }[]).map((r) => r.id);
      const update = this.db.prepare(
        `UPDATE jobs SET state = 'queued', attempts = 0, interruptions = 0, not_before = NULL, waiting_for = NULL, waiting_since = NULL,
         result = NULL, updated_at = ? WHERE id = ? AND state = 'failed'`,
      );
      const now = new Date().toISOString();
      for (const id of ids) update.run(now, id);
      return ids.map((id) => toJob(this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow));
    });
    return run.immediate();
  }

  async expireWaits(before: Date, reason: (job: Job) => JobError): Promise<Job[]> {
    const run = this.db.transaction((): Job[] => {
      const rows = this.db.prepare(`SELECT * FROM jobs WHERE state = 'waiting' AND waiting_since IS NOT NULL AND waiting_since < ?`).all(before.toISOString()) as JobRow[];
      const now = new Date().toISOString();
      for (const row of rows) {
        this.db.prepare(`UPDATE jobs SET state = 'failed', last_error = ?, not_before = NULL, updated_at = ? WHERE id = ?`).run(JSON.stringify(reason(toJob(row))), now, row.id);
      }
      return rows.map((r) => toJob(this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(r.id) as JobRow));
    });
    return run.immediate();
  }

  async countByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as { state: JobState; n: number }[]) counts[row.state] = row.n;
    return counts;
  }

  async get(jobId: string): Promise<Job | undefined> {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  async findByKey(idempotencyKey: string): Promise<Job | undefined> {
    const row = this.db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?').get(idempotencyKey) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    const { where, args } = whereClause(filter);
    const sql = `SELECT * FROM jobs ${where} ORDER BY rowid DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 100) as JobRow[]).map(toJob);
  }

  async settleLineage(lineage: string, jobId: string, outputs: LineageOutputs): Promise<LineageSettlement> {
    // One immediate transaction: two jobs of a lineage settling at once see each other's row, never half of it.
    const settle = this.db.transaction((): LineageRow[] => {
      const job = this.db.prepare('SELECT rowid AS seq FROM jobs WHERE id = ?').get(jobId) as { seq: number } | undefined;
      if (!job) throw new Error(`settleLineage: no job ${jobId}`);
      this.db
        .prepare(
          `INSERT INTO lineage_results (job_id, lineage, seq, outputs, retired, recorded_at) VALUES (?, ?, ?, ?, 0, ?)
           ON CONFLICT (job_id) DO UPDATE SET outputs = excluded.outputs`,
        )
        .run(jobId, lineage, job.seq, JSON.stringify(outputs), new Date().toISOString());
      return this.db.prepare('SELECT * FROM lineage_results WHERE lineage = ? ORDER BY seq').all(lineage) as LineageRow[];
    });
    const rows = settle.immediate();
    const current = rows[rows.length - 1] as LineageRow;
    return {
      current: toLineageResult(current),
      superseded: rows.filter((r) => r !== current && r.retired === 0).map(toLineageResult),
    };
  }

  async viewLineage(lineage: string, jobId: string): Promise<LineageView> {
    const current = this.db.prepare('SELECT * FROM lineage_results WHERE lineage = ? ORDER BY seq DESC LIMIT 1').get(lineage) as
      | LineageRow
      | undefined;
    if (!current) return { currentIsNewer: false };
    const asker = this.db.prepare('SELECT rowid AS seq FROM jobs WHERE id = ?').get(jobId) as { seq: number } | undefined;
    return { current: toLineageResult(current), currentIsNewer: current.seq > (asker?.seq ?? -1) };
  }

  async markRetired(jobId: string): Promise<void> {
    this.db.prepare('UPDATE lineage_results SET retired = 1 WHERE job_id = ?').run(jobId);
  }

  async getCursor(name: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT value FROM cursors WHERE name = ?').get(name) as { value: string } | undefined;
    return row?.value;
  }

  async setCursor(name: string, value: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(name, value, new Date().toISOString());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
