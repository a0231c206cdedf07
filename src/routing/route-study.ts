import type { JobSpec } from '../domain/job';
import type { LoadedModel } from '../domain/manifest';
import type { StudyEvent, StudyInfo } from '../domain/study';
import { idempotencyKey } from '../domain/identity';
import { selectSeries, type SeriesVerdict } from './select-series';

export interface RouteDecision {
  modelId: string;
  /** Present when the model fires. */
  job?: JobSpec;
  /** Why each series was or was not taken (for dry-runs and logs). */
  verdicts: SeriesVerdict[];
}

/** Turns a study into one job spec per model that accepts one of its series. Pure: no I/O. */
export function routeStudy(event: StudyEvent, study: StudyInfo, models: readonly LoadedModel[]): RouteDecision[] {
  return models.map((model) => {
    const { chosen, verdicts } = selectSeries(study, model.manifest);
    if (!chosen) return { modelId: model.manifest.id, verdicts };
    const instanceUids = chosen.instances.map((i) => i.sopInstanceUid).sort();
    const job: JobSpec = {
      idempotencyKey: idempotencyKey({
        studyInstanceUid: study.studyInstanceUid,
        instanceUids,
        modelId: model.manifest.id,
        modelDigest: model.digest,
      }),
      studyInstanceUid: study.studyInstanceUid,
      seriesInstanceUid: chosen.seriesInstanceUid,
      instanceUids,
      modelId: model.manifest.id,
      modelVersion: model.manifest.version,
      modelDigest: model.digest,
      source: event.source,
    };
    if (event.sourceRef !== undefined) job.sourceRef = event.sourceRef;
    return { modelId: model.manifest.id, job, verdicts };
  });
}
