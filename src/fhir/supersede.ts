import type { DiagnosticReport, Extension, ImagingStudy, Observation } from '@medplum/fhirtypes';
import type { ResultContext } from './context';

/**
 * Superseding a result in FHIR R4 (docs/decisions/0009-supersede-policy.md). Pure functions: each returns the
 * changed resource, or undefined when it already is in the wanted state, so a retried retire writes nothing.
 */

/** R4 core extension on DiagnosticReport (0..1, valueReference DiagnosticReport): "the report replaces the target". */
export const REPORT_REPLACES_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/diagnosticReport-replaces';
/**
 * R4 has no "replaced by" on DiagnosticReport or Observation: our extension (valueReference DiagnosticReport) on a
 * retired report and its Observations points forward to the report now current, for readers holding the old id.
 */
export const REPLACED_BY_EXTENSION = 'urn:clinical-ai:fhir:extension:replaced-by';

/**
 * Status of a report (and its Observations) that replaces an earlier one. R4 defines `amended` as "subsequent to
 * being final, modified", so a final result replacing another becomes `amended`; a preliminary one stays
 * `preliminary` (a preliminary result may be replaced without ceremony); the link says what it replaced.
 */
export function replacingStatus(configured: ResultContext['reportStatus'], replacesSomething: boolean): 'preliminary' | 'final' | 'amended' {
  return replacesSomething && configured === 'final' ? 'amended' : configured;
}

function withExtension<T extends { extension?: Extension[] }>(resource: T, extension: Extension): T {
  return { ...resource, extension: [...(resource.extension ?? []).filter((e) => e.url !== extension.url), extension] };
}

function pointsTo(resource: { extension?: Extension[] }, url: string, reference: string): boolean {
  return (resource.extension ?? []).some((e) => e.url === url && e.valueReference?.reference === reference);
}

/**
 * The earlier report, withdrawn: status `entered-in-error` (a modifier every R4 reader must honour: "should not be
 * treated as valid") and a forward link to the report that replaces it. Undefined when it already is.
 */
export function retiredReport(report: DiagnosticReport, replacementReference: string): DiagnosticReport | undefined {
  if (report.status === 'entered-in-error' && pointsTo(report, REPLACED_BY_EXTENSION, replacementReference)) return undefined;
  const withdrawn: DiagnosticReport = { ...report, status: 'entered-in-error' };
  return withExtension(withdrawn, { url: REPLACED_BY_EXTENSION, valueReference: { reference: replacementReference } });
}

/** An Observation of the earlier report, withdrawn with it. Undefined when it already is. */
export function retiredObservation(observation: Observation, replacementReference: string): Observation | undefined {
  if (observation.status === 'entered-in-error' && pointsTo(observation, REPLACED_BY_EXTENSION, replacementReference)) return undefined;
  const withdrawn: Observation = { ...observation, status: 'entered-in-error' };
  return withExtension(
    withdrawn,
    { url: REPLACED_BY_EXTENSION, valueReference: { reference: replacementReference } },
  );
}

/**
 * The current report, linked to one it replaces when it was written before that one was known (a race between two
 * jobs of a lineage). The R4 extension allows one target, so an existing link is kept; a final report becomes amended.
 */
export function reportWithReplacesLink(report: DiagnosticReport, replacedReference: string): DiagnosticReport | undefined {
  const linked = (report.extension ?? []).some((e) => e.url === REPORT_REPLACES_EXTENSION);
  const status = report.status === 'final' ? 'amended' : report.status;
  if (linked && status === report.status) return undefined;
  const next: DiagnosticReport = { ...report, status };
  return linked ? next : withExtension(next, { url: REPORT_REPLACES_EXTENSION, valueReference: { reference: replacedReference } });
}

/** The ImagingStudy without a superseded SEG series; counts recomputed. Undefined when the series is not listed. */
export function imagingStudyWithoutSeries(study: ImagingStudy, seriesInstanceUid: string): ImagingStudy | undefined {
  const series = study.series ?? [];
  const kept = series.filter((s) => s.uid !== seriesInstanceUid);
  if (kept.length === series.length) return undefined;
  const next: ImagingStudy = {
    ...study,
    numberOfSeries: kept.length,
    numberOfInstances: kept.reduce((n, s) => n + (s.numberOfInstances ?? s.instance?.length ?? 0), 0),
  };
  if (kept.length) next.series = kept;
  else delete next.series;
  return next;
}
