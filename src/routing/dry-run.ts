import type { LoadedModel } from '../domain/manifest';
import type { StudyEvent, StudyInfo } from '../domain/study';
import type { RouteRule } from './route-rules';
import { routeStudy } from './route-study';
import type { SeriesVerdict } from './select-series';

/** One model's outcome for a study in a dry-run. */
export interface ModelDryRun {
  model: string;
  version: string;
  /** Whether at least one job would be created. */
  fires: boolean;
  /** Series the jobs would run on, in preference order (one per job). */
  series: string[];
  /** Why the model does not fire for the study as a whole (empty when it fires). */
  reasons: string[];
  /** The route rule from the configuration that decided, if any. */
  rule?: string;
  /** Every series of the study, with why it was or was not taken. */
  verdicts: SeriesVerdict[];
}

/** The answer of `clinical-ai route` (one per study) and of POST /route/dry-run. */
export interface DryRunReport {
  studyInstanceUid: string;
  /** The intake the evaluation assumed (route rules can test it). */
  source: string;
  callingAeTitle?: string;
  models: ModelDryRun[];
}

/** What routing would do for a study, without creating jobs. */
export function dryRunStudy(
  study: StudyInfo,
  models: readonly LoadedModel[],
  routes: readonly RouteRule[] = [],
  event: { source?: string; callingAeTitle?: string } = {},
): DryRunReport {
  const studyEvent: StudyEvent = { studyInstanceUid: study.studyInstanceUid, source: event.source ?? 'dry-run', receivedAt: new Date().toISOString() };
  if (event.callingAeTitle !== undefined) studyEvent.callingAeTitle = event.callingAeTitle;
  const decisions = routeStudy(studyEvent, study, models, routes);
  const report: DryRunReport = {
    studyInstanceUid: study.studyInstanceUid,
    source: studyEvent.source,
    models: decisions.map((d, i) => {
      const m: ModelDryRun = {
        model: d.modelId,
        version: models[i]?.manifest.version ?? '',
        fires: d.jobs.length > 0,
        series: d.jobs.map((j) => j.seriesInstanceUid),
        reasons: d.reasons,
        verdicts: d.verdicts,
      };
      if (d.rule !== undefined) m.rule = d.rule;
      return m;
    }),
  };
  if (studyEvent.callingAeTitle !== undefined) report.callingAeTitle = studyEvent.callingAeTitle;
  return report;
}
