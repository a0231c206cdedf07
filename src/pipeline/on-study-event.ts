import { logHash } from '../domain/identity';
import type { LoadedModel } from '../domain/manifest';
import type { StudyEvent } from '../domain/study';
import type { Logger } from '../logging';
import type { ImagingSource } from '../ports/imaging-source';
import type { JobStore } from '../ports/job-store';
import type { RouteRule } from '../routing/route-rules';
import { routeStudy, type RouteDecision } from '../routing/route-study';

export interface StudyEventOutcome {
  decisions: RouteDecision[];
  created: number;
  existing: number;
}

/**
 * A study event never does work itself: it becomes one job per matching model. A duplicate event finds the jobs
 * already there (same idempotency keys) and creates nothing.
 */
export async function onStudyEvent(
  event: StudyEvent,
  deps: { source: ImagingSource; jobs: JobStore; models: readonly LoadedModel[]; logger: Logger; routes?: readonly RouteRule[] },
): Promise<StudyEventOutcome> {
  const study = await deps.source.getStudy(event.studyInstanceUid);
  const decisions = routeStudy(event, study, deps.models, deps.routes);
  let created = 0;
  let existing = 0;
  // One job per model, or one per accepted series for selections with matches "all".
  for (const job of decisions.flatMap((d) => d.jobs)) {
    const r = await deps.jobs.enqueue(job);
    if (r.created) created++;
    else existing++;
  }
  deps.logger.info(
    { study: logHash(event.studyInstanceUid), source: event.source, created, existing, models: decisions.filter((d) => d.job).map((d) => d.modelId) },
    'study routed',
  );
  return { decisions, created, existing };
}
