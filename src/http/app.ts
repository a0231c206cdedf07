import express, { type Router } from 'express';
import helmet from 'helmet';
import { AppError } from '../domain/errors';
import { stripUrlCredentials } from '../domain/redact-url';
import { JOB_STATES, type JobState } from '../domain/job';
import type { LoadedModel } from '../domain/manifest';
import type { Logger } from '../logging';
import type { FhirSink, StudyReports } from '../ports/fhir-sink';
import type { ImagingSource } from '../ports/imaging-source';
import type { JobStore } from '../ports/job-store';
import type { RouteRule } from '../routing/route-rules';
import type { AuditLog } from '../ports/audit-log';
import { auditAccess } from './audit-access';
import { authenticate, LOOPBACK_ANONYMOUS, type HttpAuth } from './auth/authenticate';
import { fhirAccess, requireRole } from './auth/authorize';
import { errorHandler, notFound } from './error-handler';
import { jobActionsRouter } from './job-actions';
import { operationsRouter, type OperationsDeps } from './operations';
import { routeDryRunRouter } from './route-dry-run';
import { relativeReference } from '../fhir/references';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface HttpDeps {
  jobs: JobStore;
  fhir: FhirSink | null;
  readiness: ReadinessCheck[];
  /** Mounted at /fhir when the service hosts the embedded FHIR store. */
  embeddedFhir?: Router;
  /** STOW-RS push intake, mounted at /dicomweb (POST /dicomweb/studies). */
  stow?: Router;
  logger: Logger;
  /** Loaded models: enables POST /route/dry-run. */
  models?: readonly LoadedModel[];
  /** Route rules from the configuration, applied by the dry-run as by the router. */
  routes?: readonly RouteRule[];
  /** Where the dry-run looks up { studyInstanceUid } bodies. */
  source?: ImagingSource;
  /** Authentication (src/http/auth); absent: anonymous callers with viewer, sender and operator (loopback, tests). */
  auth?: HttpAuth;
  /** Audit trail: API reads and writes of patient data and refused calls are recorded (src/http/audit-access.ts). */
  audit?: AuditLog;
  /** Called after operator retries (wakes the workers). */
  onRetried?: () => void;
  /** Dependencies, settling studies and storage for /metrics, /status and /intake/pending. */
  operations?: Omit<OperationsDeps, 'jobs'>;
}

const STUDY_UID = /^[0-9]+(\.[0-9]+)*$/;

/** Time-boxes a readiness probe so one hanging dependency cannot hang /readyz. */
async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * Reports superseded by a newer result (status entered-in-error, see docs/fhir.md) are left out unless asked for,
 * with the Observations only they reference, so a client that does not filter sees the current results only.
 */
function currentOnly(found: StudyReports, includeWithdrawn: boolean): StudyReports {
  if (includeWithdrawn) return found;
  const reports = found.reports.filter((r) => r.status !== 'entered-in-error');
  const referenced = new Set(reports.flatMap((r) => (r.result ?? []).map((ref) => relativeReference(ref.reference))));
  return { reports, observations: found.observations.filter((o) => referenced.has(`Observation/${o.id}`)) };
}

export function createApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // First, so it sees every answer, the 401s and 403s of authentication included (it reads the principal at 'finish').
  if (deps.audit) app.use(auditAccess(deps.audit, { logger: deps.logger }));
  // Security headers for a JSON API: nothing may be loaded, framed or sniffed from its answers.
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      deps.readiness.map(async (r) => {
        try {
          await withTimeout(r.check(), 5000);
          return { name: r.name, ok: true };
        } catch (err) {
          // /readyz is open: a reason never carries URL credentials, and is cut short rather than echo a whole upstream answer.
          return { name: r.name, ok: false, reason: stripUrlCredentials(err instanceof Error ? err.message : String(err)).slice(0, 200) };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: results });
  });

  // Everything below needs a principal with the route's role (requireRole per route; test/integration/route-protection).
  app.use(authenticate(deps.auth ?? LOOPBACK_ANONYMOUS, deps.logger));
  const viewer = requireRole('viewer');

  // Before /jobs/:id, which would take "dead-letter" and "retry" for ids.
  app.use(jobActionsRouter({ jobs: deps.jobs, logger: deps.logger, ...(deps.onRetried ? { onRetried: deps.onRetried } : {}) }));
  app.use(operationsRouter({ jobs: deps.jobs, dependencies: () => [], ...deps.operations }));

  app.get('/jobs', viewer, async (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    if (state !== undefined && !JOB_STATES.includes(state as JobState)) {
      throw new AppError('BAD_REQUEST', `state must be one of ${JOB_STATES.join(', ')}`);
    }
    const study = typeof req.query.study === 'string' ? req.query.study : undefined;
    const limitRaw = typeof req.query.limit === 'string' ? Number(req.query.limit) : 100;
    if (!Number.isInteger(limitRaw) || limitRaw < 1 || limitRaw > 1000) throw new AppError('BAD_REQUEST', 'limit must be an integer from 1 to 1000');
    const jobs = await deps.jobs.list({
      ...(state ? { state: state as JobState } : {}),
      ...(study ? { studyInstanceUid: study } : {}),
      limit: limitRaw,
    });
    res.json({ jobs });
  });

  app.get('/jobs/:id', viewer, async (req, res) => {
    const job = await deps.jobs.get(String(req.params.id));
    if (!job) throw new AppError('NOT_FOUND', 'no such job');
    res.json(job);
  });

  app.get('/studies/:uid/reports', viewer, async (req, res) => {
    const uid = String(req.params.uid);
    if (!STUDY_UID.test(uid) || uid.length > 64) throw new AppError('BAD_REQUEST', 'not a valid StudyInstanceUID');
    if (!deps.fhir) throw new AppError('NOT_FOUND', 'FHIR output is disabled (fhir: none)');
    const withdrawn = req.query.withdrawn;
    if (withdrawn !== undefined && withdrawn !== 'include' && withdrawn !== 'exclude') {
      throw new AppError('BAD_REQUEST', 'withdrawn must be "include" or "exclude"');
    }
    const found = currentOnly(await deps.fhir.reportsForStudy(uid), withdrawn === 'include');
    res.json({ resourceType: 'Bundle', type: 'searchset', total: found.reports.length, entry: [...found.reports, ...found.observations].map((resource) => ({ resource })) });
  });

  if (deps.embeddedFhir) app.use('/fhir', fhirAccess(), deps.embeddedFhir);
  if (deps.stow) app.use('/dicomweb', requireRole('sender'), deps.stow);
  if (deps.models) app.use(routeDryRunRouter({ models: deps.models, ...(deps.routes ? { routes: deps.routes } : {}), ...(deps.source ? { source: deps.source } : {}) }));

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
