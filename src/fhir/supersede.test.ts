import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Provenance, Resource } from '@medplum/fhirtypes';
import { classificationContext, segmentationContext } from '../../test/support/fhir-contexts';
import { describeIssues, fhirErrors } from '../../test/support/fhir-validate';
import { buildResultBundle } from './bundle';
import {
  imagingStudyWithoutSeries,
  REPLACED_BY_EXTENSION,
  REPORT_REPLACES_EXTENSION,
  reportWithReplacesLink,
  retiredObservation,
  retiredReport,
} from './supersede';

const of = <T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] =>
  (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);

const valid = (r: Resource): void => expect(`${r.resourceType}: ${describeIssues(fhirErrors(r))}`).toBe(`${r.resourceType}: `);

describe('superseding results in FHIR R4', () => {
  it('when a result replaces an earlier report, then it links to it (R4 extension, Provenance revision) and stays valid R4', () => {
    const bundle = buildResultBundle({ ...segmentationContext(), replaces: 'DiagnosticReport/old-1', lineage: 'ab'.repeat(32) });
    const [report] = of<DiagnosticReport>(bundle, 'DiagnosticReport');
    expect(report?.extension).toEqual([{ url: REPORT_REPLACES_EXTENSION, valueReference: { reference: 'DiagnosticReport/old-1' } }]);
    expect(report?.identifier?.[1]).toEqual({ system: 'urn:clinical-ai:result-lineage', value: 'ab'.repeat(32) });
    expect(report?.status).toBe('preliminary');
    const [provenance] = of<Provenance>(bundle, 'Provenance');
    expect(provenance?.entity).toContainEqual({ role: 'revision', what: { reference: 'DiagnosticReport/old-1' } });
    for (const entry of bundle.entry ?? []) valid(entry.resource as Resource);
  });

  it('when the configured status is final and the result replaces another, then report and Observations are amended', () => {
    const bundle = buildResultBundle({ ...classificationContext(), reportStatus: 'final', replaces: 'DiagnosticReport/old-1' });
    expect(of<DiagnosticReport>(bundle, 'DiagnosticReport')[0]?.status).toBe('amended');
    expect(of<Observation>(bundle, 'Observation').map((o) => o.status)).toEqual(of<Observation>(bundle, 'Observation').map(() => 'amended'));
    const first = buildResultBundle({ ...classificationContext(), reportStatus: 'final' });
    expect(of<DiagnosticReport>(first, 'DiagnosticReport')[0]?.status).toBe('final');
    expect(of<DiagnosticReport>(first, 'DiagnosticReport')[0]?.extension).toBeUndefined();
  });

  it('when the earlier report and its Observations are retired, then they are entered-in-error, point to the current report, and are valid', () => {
    const bundle = buildResultBundle(segmentationContext());
    const report = { ...(of<DiagnosticReport>(bundle, 'DiagnosticReport')[0] as DiagnosticReport), id: 'old-1', subject: { reference: 'Patient/p' } };
    const retired = retiredReport(report, 'DiagnosticReport/new-2') as DiagnosticReport;
    expect(retired.status).toBe('entered-in-error');
    expect(retired.extension).toEqual([{ url: REPLACED_BY_EXTENSION, valueReference: { reference: 'DiagnosticReport/new-2' } }]);
    expect(retiredReport(retired, 'DiagnosticReport/new-2')).toBeUndefined();
    const observation = of<Observation>(bundle, 'Observation')[0] as Observation;
    const retiredObs = retiredObservation(observation, 'DiagnosticReport/new-2') as Observation;
    expect(retiredObs.status).toBe('entered-in-error');
    expect(retiredObservation(retiredObs, 'DiagnosticReport/new-2')).toBeUndefined();
    valid(retired);
    valid(retiredObs);
  });

  it('when the current report was written without a link (a race), then the link is added once, and an existing one is kept', () => {
    const report = { ...(of<DiagnosticReport>(buildResultBundle({ ...segmentationContext(), reportStatus: 'final' }), 'DiagnosticReport')[0] as DiagnosticReport) };
    const linked = reportWithReplacesLink(report, 'DiagnosticReport/old-1') as DiagnosticReport;
    expect(linked.status).toBe('amended');
    expect(linked.extension).toEqual([{ url: REPORT_REPLACES_EXTENSION, valueReference: { reference: 'DiagnosticReport/old-1' } }]);
    expect(reportWithReplacesLink(linked, 'DiagnosticReport/old-0')).toBeUndefined();
    valid(linked);
  });

  it('when the superseded SEG series is taken out of the ImagingStudy, then only it goes and the counts follow', () => {
    const ctx = segmentationContext();
    const study = of<ImagingStudy>(buildResultBundle(ctx), 'ImagingStudy')[0] as ImagingStudy;
    const segUid = ctx.findings.kind === 'segmentation' ? ctx.findings.segSeriesInstanceUid : '';
    const without = imagingStudyWithoutSeries(study, segUid) as ImagingStudy;
    expect(without.series?.map((s) => s.uid)).toEqual([ctx.seriesInstanceUid]);
    expect(without.numberOfSeries).toBe(1);
    expect(without.numberOfInstances).toBe(3);
    expect(imagingStudyWithoutSeries(without, segUid)).toBeUndefined();
    valid(without);
  });
});
