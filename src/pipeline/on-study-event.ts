import { logHash } from '../domain/identity';
import type { LoadedModel } from '../domain/manifest';
import type { StudyEvent, StudyInfo } from '../domain/study';
import { assertValidStudyUids, assertValidUid } from '../domain/uid';
import type { Logger } from '../logging';
import type { ImagingSource } from '../ports/imaging-source';
import type { JobStore } from '../ports/job-store';
import type { RouteRule } from '../routing/route-rules';
import { routeStudy, type RouteDecision } from '../routing/route-study';

export interface StudyEventOutcome {
  decisions: RouteDecision[];
  created: number;
  existing: number;
  /** Existing jobs that had failed for a reason a retry can fix (an outage, too many attempts) and were queued again. */
  revived: number;
}

export interface RouteDeps {
  jobs: JobStore;
  models: readonly LoadedModel[];
  logger: Logger;
  routes?: readonly RouteRule[];
}

/**
 * A study event never does work itself: it becomes one job per matching model. A duplicate event finds the jobs
 * already there (same idempotency keys) and creates nothing; a job among them that failed for a retryable reason
 * (its dependency was down too long, its attempts ran out on transient errors) is queued again, so an intake's
 * re-delivery or the reconciliation sweep heals what an outage left behind.
 */
export async function routeKnownStudy(event: StudyEvent, study: StudyInfo, deps: RouteDeps): Promise<StudyEventOutcome> {
  // Every intake ends here (Orthanc and QIDO report UIDs as text, not as files read through readPart10): an
  // invalid UID is refused (BAD_DICOM) before it can become a job key, rather than silently normalised.
  assertValidUid(event.studyInstanceUid, 'StudyInstanceUID');
  assertValidStudyUids(study);
  const decisions = routeStudy(event, study, deps.models, deps.routes);
  let created = 0;
  let existing = 0;
  let revived = 0;
  // One job per model, or one per accepted series for selections with matches "all".
  for (const spec of decisions.flatMap((d) => d.jobs)) {
    const r = await deps.jobs.enqueue(spec);
    if (r.created) created++;
    else existing++;
    if (!r.created && r.job.state === 'failed' && r.job.lastError?.retryable) revived += (await deps.jobs.retry({ ids: [r.job.id] })).length;
  }
  deps.logger.info(
    { study: logHash(event.studyInstanceUid), source: event.source, created, existing, ...(revived ? { revived } : {}), models: decisions.filter((d) => d.job).map((d) => d.modelId) },
    'study routed',
  );
  return { decisions, created, existing, revived };
}

/** Looks the study up in the source and routes it (CLI runs, interim mode without settling). */
export async function onStudyEvent(event: StudyEvent, deps: RouteDeps & { source: ImagingSource }): Promise<StudyEventOutcome> {
  const study = await deps.source.getStudy(event.studyInstanceUid, { source: event.source, ...(event.sourceRef !== undefined ? { sourceRef: event.sourceRef } : {}) });
  return routeKnownStudy(event, study, deps);
}
