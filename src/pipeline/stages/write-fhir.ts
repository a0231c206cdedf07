import type { Bundle, BundleEntry, DiagnosticReport, ImagingStudy } from '@medplum/fhirtypes';
import { buildResultBundle } from '../../fhir/bundle';
import { mergeImagingStudySeries } from '../../fhir/imaging-study';
import type { Findings } from '../../domain/findings';
import type { StudyInfo } from '../../domain/study';
import type { JobContext } from '../context';

export interface FhirWriteOutcome {
  bundle: Bundle;
  /** Id of the DiagnosticReport as the server knows it (from the response location), when there is a server. */
  reportId?: string;
}

/** Builds the job's transaction Bundle and writes it; the sink serialises writes per idempotency key. */
export async function writeFhir(
  ctx: JobContext,
  study: StudyInfo,
  findings: Findings,
  lineage: { lineage?: string; replaces?: string } = {},
): Promise<FhirWriteOutcome> {
  const { deps, job, model } = ctx;
  const bundle = buildResultBundle({
    idempotencyKey: job.idempotencyKey,
    study,
    seriesInstanceUid: job.seriesInstanceUid,
    model: model.manifest,
    modelDigest: model.digest,
    findings,
    reportStatus: deps.results.reportStatus,
    issued: (deps.now ?? (() => new Date()))(),
    ...(deps.dicomWebEndpoint ? { dicomWebEndpoint: deps.dicomWebEndpoint } : {}),
    ...(deps.results.clinicalUseNotice ? { clinicalUseNotice: deps.results.clinicalUseNotice } : {}),
    ...(lineage.lineage ? { lineage: lineage.lineage } : {}),
    ...(lineage.replaces ? { replaces: lineage.replaces } : {}),
  });
  if (!deps.fhir) return { bundle };
  const response = await deps.fhir.writeTransaction(job.idempotencyKey, bundle);
  await listOurSeriesInExistingStudy(ctx, bundle, response);
  const reportIndex = (bundle.entry ?? []).findIndex((e: BundleEntry) => e.resource?.resourceType === 'DiagnosticReport');
  const location = response.entry?.[reportIndex]?.response?.location ?? '';
  const match = /DiagnosticReport\/([^/]+)/.exec(location);
  const reportId = match?.[1] ?? (response.entry?.[reportIndex]?.resource as DiagnosticReport | undefined)?.id;
  return reportId ? { bundle, reportId } : { bundle };
}

/**
 * The ImagingStudy entry is a conditional create: when the server already had the study (another model's job, or
 * the hospital's own record), ours was not written, so the SEG series is added to the existing one.
 */
async function listOurSeriesInExistingStudy(ctx: JobContext, bundle: Bundle, response: Bundle): Promise<void> {
  const index = (bundle.entry ?? []).findIndex((e: BundleEntry) => e.resource?.resourceType === 'ImagingStudy');
  const ours = bundle.entry?.[index]?.resource as ImagingStudy | undefined;
  const answer = response.entry?.[index]?.response;
  if (!ours || !ctx.deps.fhir || !answer?.status?.startsWith('200')) return;
  const reference = /ImagingStudy\/[^/]+/.exec(answer.location ?? '')?.[0];
  if (!reference) return;
  await ctx.deps.fhir.updateResource<ImagingStudy>(reference, (current) => mergeImagingStudySeries(current, ours));
}
