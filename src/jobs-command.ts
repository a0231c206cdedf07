import { existsSync } from 'node:fs';
import path from 'node:path';
import { SqliteJobStore } from '../adapters/sqlite/sqlite-job-store';
import type { Config } from './config';
import { AppError } from './domain/errors';
import { JOB_STATES, type Job, type JobState } from './domain/job';
import { deadLetter } from './pipeline/dead-letter';
import type { JobFilter } from './ports/job-store';

export const JOBS_USAGE = `  clinical-ai jobs list [--state S] [--code C] [--since T] [--until T] [--limit N] [--config FILE]
      jobs in the service's job database, newest first, one JSON line each
  clinical-ai jobs retry (--state failed | --id ID[,ID...]) [--code C] [--since T] [--until T] [--config FILE]
      queue failed jobs again with a fresh attempt budget; a running service takes them within workers.pollIntervalMs
  clinical-ai jobs dead-letter [--config FILE]
      failed jobs grouped by reason, with what to do about each
      T is an ISO date-time (2026-12-03T08:00:00Z) or an age: 30m, 6h, 7d`;

/** "2026-12-03T08:00:00Z" or an age such as "6h" (that long before now), as an ISO time. */
export function parseTime(value: string, flag: string, now = Date.now()): string {
  const age = /^(\d+)(m|h|d)$/.exec(value);
  if (age) return new Date(now - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd']).toISOString();
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new AppError('BAD_REQUEST', `--${flag} must be an ISO date-time (2026-12-03T08:00:00Z) or an age (30m, 6h, 7d), got "${value}"`);
}

function filterFrom(flags: ReadonlyMap<string, string>): JobFilter {
  const filter: JobFilter = {};
  const state = flags.get('state');
  if (state !== undefined) {
    if (!JOB_STATES.includes(state as JobState)) throw new AppError('BAD_REQUEST', `--state must be one of ${JOB_STATES.join(', ')}`);
    filter.state = state as JobState;
  }
  const code = flags.get('code');
  if (code !== undefined) filter.code = code;
  const ids = flags.get('id');
  if (ids !== undefined) filter.ids = ids.split(',').map((s) => s.trim()).filter(Boolean);
  const since = flags.get('since');
  if (since !== undefined) filter.since = parseTime(since, 'since');
  const until = flags.get('until');
  if (until !== undefined) filter.until = parseTime(until, 'until');
  const limit = flags.get('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new AppError('BAD_REQUEST', '--limit must be a positive integer');
    filter.limit = n;
  }
  return filter;
}

/** One line per job, without the instance list (hundreds of UIDs) and without anything about the patient. */
const line = (j: Job): string =>
  JSON.stringify({ id: j.id, state: j.state, model: j.modelId, study: j.studyInstanceUid, attempts: j.attempts, interruptions: j.interruptions, stage: j.stage, updatedAt: j.updatedAt, ...(j.waitingFor ? { waitingFor: j.waitingFor } : {}), ...(j.lastError ? { error: j.lastError } : {}) });

/** `clinical-ai jobs …`: operator commands on the job database under dataDir (safe while the service runs). */
export async function jobsCommand(sub: string | undefined, flags: ReadonlyMap<string, string>, config: Config, out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const file = path.join(config.dataDir, 'jobs.db');
  if (sub !== 'list' && sub !== 'retry' && sub !== 'dead-letter') {
    err(`usage:\n${JOBS_USAGE}`);
    return 2;
  }
  if (!existsSync(file)) {
    err(`clinical-ai: no job database at ${file}: is dataDir (--config, CLINICAL_AI_DATA_DIR) the service's?`);
    return 1;
  }
  const filter = filterFrom(flags);
  const store = new SqliteJobStore(file);
  try {
    if (sub === 'list') {
      for (const j of await store.list({ limit: 100, ...filter })) out(line(j));
      return 0;
    }
    if (sub === 'dead-letter') {
      const view = deadLetter(await store.list({ state: 'failed', limit: 100_000 }));
      out(JSON.stringify(view, null, 2));
      return 0;
    }
    if (filter.state !== undefined && filter.state !== 'failed') throw new AppError('BAD_REQUEST', 'only failed jobs can be retried: --state failed');
    if (filter.state === undefined && filter.ids === undefined) throw new AppError('BAD_REQUEST', 'name what to retry: --state failed (with optional --code, --since, --until) or --id');
    const { limit: _limit, state: _state, ...selection } = filter;
    const retried = await store.retry(selection);
    for (const j of retried) out(line(j));
    err(`clinical-ai: ${retried.length} failed job(s) queued again${retried.length > 0 ? '; a running service takes them within workers.pollIntervalMs' : ''}`);
    return 0;
  } finally {
    await store.close();
  }
}
