import express, { type Router } from 'express';
import { requireRole } from './auth/authorize';
import { AppError } from '../domain/errors';
import type { JobState } from '../domain/job';
import type { SettlingRecord } from '../domain/settling';
import type { JobStore } from '../ports/job-store';
import type { BreakerStatus } from '../resilience/dependency-breaker';

/** Free space of one watched path, as the storage monitor last saw it. */
export interface StorageView {
  state: 'ok' | 'pressure';
  /** freeBytes is absent when the path could not be read. */
  paths: { kind: string; freeBytes?: number }[];
  since?: string;
}

export interface OperationsDeps {
  jobs: JobStore;
  dependencies: () => BreakerStatus[];
  /** Studies waiting to be routed (settling, held); absent when studies are routed at once (interim reports). */
  pendingStudies?: (limit: number) => Promise<SettlingRecord[]>;
  storage?: () => StorageView;
}

const line = (name: string, labels: Record<string, string>, value: number): string => {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
  return `${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`;
};

/** Prometheus text exposition (version 0.0.4) of what an operator watches: jobs, dependencies, settling, disk. */
export async function metricsText(deps: OperationsDeps, now = Date.now()): Promise<string> {
  const out: string[] = [];
  const gauge = (name: string, help: string, rows: [Record<string, string>, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...rows.map(([labels, v]) => line(name, labels, v)));
  };
  const counts = await deps.jobs.countByState();
  gauge('clinical_ai_jobs', 'Jobs by state (waiting = waiting out an outage of a dependency).', (Object.entries(counts) as [JobState, number][]).map(([state, n]) => [{ state }, n]));
  const statuses = deps.dependencies();
  gauge('clinical_ai_dependency_up', '1 when the dependency answers (breaker closed), 0 during a confirmed outage.', statuses.map((s) => [{ dependency: s.dependency }, s.state === 'closed' ? 1 : 0]));
  gauge(
    'clinical_ai_dependency_outage_seconds',
    'Seconds since the current outage of the dependency was confirmed (0 when up).',
    statuses.map((s) => [{ dependency: s.dependency }, s.since ? (now - Date.parse(s.since)) / 1000 : 0]),
  );
  if (deps.pendingStudies) {
    const pending = await deps.pendingStudies(100_000);
    gauge('clinical_ai_studies_pending', 'Studies between intake and routing: settling (waiting to be quiet) or held (incomplete).', [
      [{ status: 'settling' }, pending.filter((p) => p.status === 'settling').length],
      [{ status: 'held' }, pending.filter((p) => p.status === 'held').length],
    ]);
  }
  const storage = deps.storage?.();
  if (storage) {
    gauge('clinical_ai_storage_pressure', '1 while free space is under storage.minFreeBytes (intake refused), else 0.', [[{}, storage.state === 'pressure' ? 1 : 0]]);
    gauge('clinical_ai_storage_free_bytes', 'Free bytes of each watched path.', storage.paths.flatMap((p) => (p.freeBytes === undefined ? [] : [[{ path: p.kind }, p.freeBytes] as [Record<string, string>, number]])));
  }
  return `${out.join('\n')}\n`;
}

/** GET /metrics, GET /status (dependencies, storage, job counts) and GET /intake/pending. No patient data. */
export function operationsRouter(deps: OperationsDeps): Router {
  const router = express.Router();
  const viewer = requireRole('viewer');
  router.get('/metrics', viewer, async (_req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8').send(await metricsText(deps));
  });
  router.get('/status', viewer, async (_req, res) => {
    res.json({ dependencies: deps.dependencies(), storage: deps.storage?.(), jobs: await deps.jobs.countByState() });
  });
  router.get('/intake/pending', viewer, async (req, res) => {
    if (!deps.pendingStudies) throw new AppError('NOT_FOUND', 'studies are routed at once (completion.interimReports): nothing is pending');
    const limitRaw = typeof req.query.limit === 'string' ? Number(req.query.limit) : 100;
    if (!Number.isInteger(limitRaw) || limitRaw < 1 || limitRaw > 1000) throw new AppError('BAD_REQUEST', 'limit must be an integer from 1 to 1000');
    const pending = await deps.pendingStudies(limitRaw);
    res.json({
      studies: pending.map((p) => ({
        studyInstanceUid: p.studyInstanceUid,
        status: p.status,
        source: p.event.source,
        instances: p.instanceCount,
        firstSeenAt: new Date(p.firstSeenAt).toISOString(),
        lastChangeAt: new Date(p.lastChangeAt).toISOString(),
        nextLookAt: new Date(p.dueAt).toISOString(),
        ...(p.heldReason ? { reason: p.heldReason } : {}),
      })),
    });
  });
  return router;
}
