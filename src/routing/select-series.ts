import type { ModelManifest, SeriesSelection } from '../domain/manifest';
import type { SeriesInfo, StudyInfo } from '../domain/study';

export interface SeriesVerdict {
  seriesInstanceUid: string;
  accepted: boolean;
  /** Why it was rejected (empty when accepted). */
  reasons: string[];
}

export interface SelectionResult {
  /** The chosen series, if any. */
  chosen?: SeriesInfo;
  verdicts: SeriesVerdict[];
}

function sliceCount(series: SeriesInfo): number {
  return series.instances.reduce((n, i) => n + Math.max(1, i.numberOfFrames ?? 1), 0);
}

function equalsIgnoreCase(a: string, b: string): boolean {
  return a.trim().toUpperCase() === b.trim().toUpperCase();
}

/** Every reason a series does not satisfy a selection (empty array = accepted). */
export function rejectReasons(series: SeriesInfo, select: SeriesSelection): string[] {
  const reasons: string[] = [];
  if (!select.modality.some((m) => equalsIgnoreCase(m, series.modality))) {
    reasons.push(`modality ${series.modality || '(none)'} not in [${select.modality.join(', ')}]`);
  }
  if (select.bodyPartExamined && select.bodyPartExamined.length > 0) {
    const part = series.bodyPartExamined ?? '';
    if (!select.bodyPartExamined.some((b) => equalsIgnoreCase(b, part))) {
      reasons.push(`body part ${part || '(none)'} not in [${select.bodyPartExamined.join(', ')}]`);
    }
  }
  if (select.seriesDescription) {
    const re = new RegExp(select.seriesDescription, 'i');
    if (!re.test(series.seriesDescription ?? '')) reasons.push(`series description does not match /${select.seriesDescription}/i`);
  }
  // Localizers/scouts are never a model's input, whatever else matches.
  if ((series.imageType ?? []).some((t) => equalsIgnoreCase(t, 'LOCALIZER'))) reasons.push('series is a localizer');
  const n = sliceCount(series);
  if (select.minSlices !== undefined && n < select.minSlices) reasons.push(`${n} slices < minimum ${select.minSlices}`);
  return reasons;
}

/**
 * Picks the series a model runs on. Among accepted series the one with the most slices wins (more coverage);
 * ties go to the lowest SeriesNumber, then the lexically smallest SeriesInstanceUID, so the choice is stable
 * whatever order the PACS lists series in.
 */
export function selectSeries(study: StudyInfo, manifest: Pick<ModelManifest, 'select'>): SelectionResult {
  const verdicts: SeriesVerdict[] = study.series.map((s) => {
    const reasons = rejectReasons(s, manifest.select);
    return { seriesInstanceUid: s.seriesInstanceUid, accepted: reasons.length === 0, reasons };
  });
  const accepted = study.series.filter((_, i) => verdicts[i]?.accepted);
  accepted.sort(
    (a, b) =>
      sliceCount(b) - sliceCount(a) ||
      (a.seriesNumber ?? Number.MAX_SAFE_INTEGER) - (b.seriesNumber ?? Number.MAX_SAFE_INTEGER) ||
      a.seriesInstanceUid.localeCompare(b.seriesInstanceUid),
  );
  const chosen = accepted[0];
  return chosen ? { chosen, verdicts } : { verdicts };
}
