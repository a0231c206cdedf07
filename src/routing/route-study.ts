import type { JobSpec } from '../domain/job';
import type { LoadedModel } from '../domain/manifest';
import type { SeriesInfo, StudyEvent, StudyInfo } from '../domain/study';
import { idempotencyKey } from '../domain/identity';
import { resolveModelRoute, type RouteRule } from './route-rules';
import { selectSeries, type SeriesVerdict } from './select-series';

export interface RouteDecision {
  modelId: string;
  /** Present when the model fires: the job on the preferred series (the same as jobs[0]). */
  job?: JobSpec;
  /** Every job of this model for the study: one, or one per accepted series with matches "all"; empty when it does not fire. */
  jobs: JobSpec[];
  /** Why the model does not run on this study at all (disabled by a rule, study/event conditions). */
  reasons: string[];
  /** The route rule from the configuration that decided, if any. */
  rule?: string;
  /** Why each series was or was not taken (for dry-runs and logs). */
  verdicts: SeriesVerdict[];
}

function jobFor(event: StudyEvent, study: StudyInfo, model: LoadedModel, series: SeriesInfo): JobSpec {
  const instanceUids = series.instances.map((i) => i.sopInstanceUid).sort();
  const job: JobSpec = {
    idempotencyKey: idempotencyKey({
      studyInstanceUid: study.studyInstanceUid,
      instanceUids,
      modelId: model.manifest.id,
      modelDigest: model.digest,
    }),
    studyInstanceUid: study.studyInstanceUid,
    seriesInstanceUid: series.seriesInstanceUid,
    instanceUids,
    modelId: model.manifest.id,
    modelVersion: model.manifest.version,
    modelDigest: model.digest,
    source: event.source,
  };
  if (event.sourceRef !== undefined) job.sourceRef = event.sourceRef;
  return job;
}

/**
 * Turns a study into job specs: per model, the route rules from the configuration (first match) say whether it runs
 * and with which selection, then the selection picks its series. Pure: no I/O.
 */
export function routeStudy(event: StudyEvent, study: StudyInfo, models: readonly LoadedModel[], routes: readonly RouteRule[] = []): RouteDecision[] {
  const facts = { study, event };
  return models.map((model) => {
    const modelId = model.manifest.id;
    const route = resolveModelRoute(modelId, model.manifest.select, routes, facts);
    const ruled = route.rule !== undefined ? { rule: route.rule } : {};
    const { series, studyReasons, verdicts } = selectSeries(study, { select: route.select }, event);
    if (!route.enabled) {
      for (const v of verdicts) v.chosen = false;
      return { modelId, jobs: [], reasons: [`disabled for this study by route rule "${route.rule ?? ''}"`], ...ruled, verdicts };
    }
    const jobs = series.map((s) => jobFor(event, study, model, s));
    const reasons = [...studyReasons];
    if (studyReasons.length === 0 && jobs.length === 0) reasons.push(study.series.length === 0 ? 'the study has no series' : 'no series is accepted');
    const first = jobs[0];
    return first ? { modelId, job: first, jobs, reasons, ...ruled, verdicts } : { modelId, jobs, reasons, ...ruled, verdicts };
  });
}
