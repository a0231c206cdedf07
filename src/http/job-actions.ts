import express, { type Router } from 'express';
import { AppError } from '../domain/errors';
import type { Job } from '../domain/job';
import type { Logger } from '../logging';
import type { JobFilter, JobStore } from '../ports/job-store';
import { deadLetter } from '../pipeline/dead-letter';
import { principalOf, requireRole } from './auth/authorize';

export interface JobActionsDeps {
  jobs: JobStore;
  /** Wakes the workers after a retry, so the jobs run now rather than at the next poll. */
  onRetried?: () => void;
  logger: Logger;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function timeField(body: Record<string, unknown>, key: 'since' | 'until'): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v))) throw new AppError('BAD_REQUEST', `${key} must be an ISO 8601 date-time with a zone, e.g. 2026-12-03T08:00:00Z`);
  return new Date(v).toISOString();
}

/** The body of POST /jobs/retry as a filter; an empty body is refused so no one retries everything by accident. */
export function retryFilter(body: unknown): Omit<JobFilter, 'state' | 'limit'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('BAD_REQUEST', 'send a JSON object: {"state":"failed"} and optionally code, since, until, ids');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['state', 'code', 'since', 'until', 'ids'].includes(k));
  if (unknown.length > 0) throw new AppError('BAD_REQUEST', `unknown field(s): ${unknown.join(', ')}`);
  if (b.state !== undefined && b.state !== 'failed') throw new AppError('BAD_REQUEST', 'only failed jobs can be retried: state must be "failed"');
  if (b.state === undefined && b.ids === undefined) throw new AppError('BAD_REQUEST', 'name what to retry: "state": "failed" (with optional code, since, until) or "ids"');
  const filter: Omit<JobFilter, 'state' | 'limit'> = {};
  if (b.code !== undefined) {
    if (typeof b.code !== 'string' || !/^[A-Z_]{1,40}$/.test(b.code)) throw new AppError('BAD_REQUEST', 'code must be an error code such as PACS_UNAVAILABLE');
    filter.code = b.code;
  }
  if (b.ids !== undefined) {
    if (!Array.isArray(b.ids) || b.ids.length === 0 || b.ids.length > 1000 || !b.ids.every((id) => typeof id === 'string' && id.length <= 64)) {
      throw new AppError('BAD_REQUEST', 'ids must be a list of 1 to 1000 job ids');
    }
    filter.ids = b.ids as string[];
  }
  const since = timeField(b, 'since');
  const until = timeField(b, 'until');
  if (since) filter.since = since;
  if (until) filter.until = until;
  return filter;
}

const summary = (j: Job): Record<string, unknown> => ({ id: j.id, state: j.state, modelId: j.modelId, studyInstanceUid: j.studyInstanceUid, lastError: j.lastError });

/**
 * Operator actions on jobs: retry one (POST /jobs/{id}/retry), retry many (POST /jobs/retry), and the dead-letter
 * view (GET /jobs/dead-letter: failed jobs grouped by reason, with what to do). Retries need the operator role.
 */
export function jobActionsRouter(deps: JobActionsDeps): Router {
  const router = express.Router();
  const operator = requireRole('operator');
  const json = express.json({ limit: '64kb' });

  router.get('/jobs/dead-letter', requireRole('viewer'), async (req, res) => {
    const limitRaw = typeof req.query.limit === 'string' ? Number(req.query.limit) : 100;
    if (!Number.isInteger(limitRaw) || limitRaw < 1 || limitRaw > 1000) throw new AppError('BAD_REQUEST', 'limit must be an integer from 1 to 1000');
    const failed = await deps.jobs.list({ state: 'failed', limit: 100_000 });
    res.json({ ...deadLetter(failed), jobs: failed.slice(0, limitRaw).map(summary) });
  });

  router.post('/jobs/retry', operator, json, async (req, res) => {
    const filter = retryFilter(req.body);
    const retried = await deps.jobs.retry(filter);
    deps.logger.info({ retried: retried.length, code: filter.code, by: principalOf(res)?.subject }, 'failed jobs queued again');
    if (retried.length > 0) deps.onRetried?.();
    res.json({ retried: retried.length, jobs: retried.map(summary) });
  });

  router.post('/jobs/:id/retry', operator, async (req, res) => {
    const job = await deps.jobs.get(String(req.params.id));
    if (!job) throw new AppError('NOT_FOUND', 'no such job');
    if (job.state !== 'failed') throw new AppError('CONFLICT', `the job is ${job.state}: only failed jobs can be retried`);
    const [retried] = await deps.jobs.retry({ ids: [job.id] });
    if (!retried) throw new AppError('CONFLICT', 'the job changed state meanwhile; look at it again');
    deps.logger.info({ jobId: job.id, by: principalOf(res)?.subject }, 'failed job queued again');
    deps.onRetried?.();
    res.json(retried);
  });
  return router;
}
