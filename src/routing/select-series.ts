import type { ModelManifest, SeriesSelection } from '../domain/manifest';
import type { SeriesInfo, StudyInfo } from '../domain/study';
import { sliceCount, sliceThicknessOf, type StudyFacts } from './attributes';
import type { SeriesOrientation } from './orientation';
import { compileSelection } from './selection';

export interface SeriesVerdict {
  seriesInstanceUid: string;
  accepted: boolean;
  /** Why it was rejected (empty when accepted). */
  reasons: string[];
  /** Taken for a job (the first accepted series, or every accepted one with matches "all"). */
  chosen: boolean;
  /** Facts shown in dry-runs, so a reader sees what the reasons were about. */
  modality: string;
  seriesNumber?: number;
  seriesDescription?: string;
  slices: number;
  sliceThickness?: number;
  orientation: SeriesOrientation;
}

export interface SelectionResult {
  /** The preferred accepted series, if any (the same as series[0]). */
  chosen?: SeriesInfo;
  /** Series to run on, in preference order: one with matches "first", every accepted one with "all". */
  series: SeriesInfo[];
  /** Why the study itself is not accepted (study/event conditions); when non-empty, no series is chosen. */
  studyReasons: string[];
  verdicts: SeriesVerdict[];
}

/** Every reason a series does not satisfy a selection (empty array = accepted). */
export function rejectReasons(series: SeriesInfo, select: SeriesSelection): string[] {
  return compileSelection(select).seriesReasons(series);
}

/**
 * Picks the series a model runs on. Accepted series are ordered by the selection's preference: most-slices (the
 * default: most slices, then lowest SeriesNumber, then smallest SeriesInstanceUID in code-point order) or
 * thinnest-slices (smallest SliceThickness first, then the same order), so the choice is stable whatever order the
 * PACS lists series in. With matches "first" the first one is taken, with "all" every one.
 */
export function selectSeries(study: StudyInfo, manifest: Pick<ModelManifest, 'select'>, event?: StudyFacts['event']): SelectionResult {
  const compiled = compileSelection(manifest.select);
  const studyReasons = compiled.studyReasons(event ? { study, event } : { study });
  const verdicts: SeriesVerdict[] = study.series.map((s) => {
    const reasons = compiled.seriesReasons(s);
    const v: SeriesVerdict = {
      seriesInstanceUid: s.seriesInstanceUid,
      accepted: reasons.length === 0,
      reasons,
      chosen: false,
      modality: s.modality,
      slices: sliceCount(s),
      orientation: compiled.orientationOf(s),
    };
    if (s.seriesNumber !== undefined) v.seriesNumber = s.seriesNumber;
    if (s.seriesDescription !== undefined) v.seriesDescription = s.seriesDescription;
    const thickness = sliceThicknessOf(s);
    if (thickness !== undefined) v.sliceThickness = thickness;
    return v;
  });
  if (studyReasons.length > 0) return { series: [], studyReasons, verdicts };
  const accepted = study.series.filter((_, i) => verdicts[i]?.accepted).sort((a, b) => compiled.compare(a, b));
  const series = compiled.matches === 'all' ? accepted : accepted.slice(0, 1);
  const taken = new Set(series.map((s) => s.seriesInstanceUid));
  for (const v of verdicts) v.chosen = taken.has(v.seriesInstanceUid);
  const chosen = series[0];
  return chosen ? { chosen, series, studyReasons, verdicts } : { series, studyReasons, verdicts };
}
