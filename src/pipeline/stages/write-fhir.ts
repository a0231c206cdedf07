import type { Bundle, BundleEntry, DiagnosticReport, ImagingStudy } from '@medplum/fhirtypes';
import { buildResultBundle } from '../../fhir/bundle';
import { mergeImagingStudySeries } from '../../fhir/imaging-study';
import type { Findings } from '../../domain/findings';
import type { StudyInfo } from '../../domain/study';
import { auditJob, failed } from '../audit';
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
  const entities = [{ kind: 'study' as const, id: job.studyInstanceUid }, { kind: 'job' as const, id: job.id }];
  let response: Bundle;
  try {
    response = await deps.fhir.writeTransaction(job.idempotencyKey, bundle);
  } catch (err) {
    await auditJob(ctx, { action: 'report-written', interaction: 'transaction', entities, ...failed(err) });
    throw err;
  }
  const reportIndex = (bundle.entry ?? []).findIndex((e: BundleEntry) => e.resource?.resourceType === 'DiagnosticReport');
  const location = response.entry?.[reportIndex]?.response?.location ?? '';
  const match = /DiagnosticReport\/([^/]+)/.exec(location);
  const reportId = match?.[1] ?? (response.entry?.[reportIndex]?.resource as DiagnosticReport | undefined)?.id;
  const patient = writtenReference(bundle, response, 'Patient');
  await auditJob(ctx, {
    action: 'report-written',
    entities: [...entities, ...(reportId ? [{ kind: 'fhir-resource' as const, id: `DiagnosticReport/${reportId}`, description: `status ${deps.results.reportStatus}` }] : [])],
    ...(patient ? { patient } : {}),
  });
  await listOurSeriesInExistingStudy(ctx, bundle, response);
  return reportId ? { bundle, reportId } : { bundle };
}

/** "Type/id" of the bundle's entry of that type as the server answered it (created or matched). */
function writtenReference(bundle: Bundle, response: Bundle, type: string): string | undefined {
  const index = (bundle.entry ?? []).findIndex((e: BundleEntry) => e.resource?.resourceType === type);
  return new RegExp(`${type}/[A-Za-z0-9\\-.]{1,64}`).exec(response.entry?.[index]?.response?.location ?? '')?.[0];
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
