import type { Bundle, BundleEntry, DiagnosticReport } from '@medplum/fhirtypes';
import { buildResultBundle } from '../../fhir/bundle';
import type { Findings } from '../../domain/findings';
import type { StudyInfo } from '../../domain/study';
import type { JobContext } from '../context';

export interface FhirWriteOutcome {
  bundle: Bundle;
  /** Id of the DiagnosticReport as the server knows it (from the response location), when there is a server. */
  reportId?: string;
}

/** Builds the job's transaction Bundle and writes it; the sink serialises writes per idempotency key. */
export async function writeFhir(ctx: JobContext, study: StudyInfo, findings: Findings): Promise<FhirWriteOutcome> {
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
  });
  if (!deps.fhir) return { bundle };
  const response = await deps.fhir.writeTransaction(job.idempotencyKey, bundle);
  const reportIndex = (bundle.entry ?? []).findIndex((e: BundleEntry) => e.resource?.resourceType === 'DiagnosticReport');
  const location = response.entry?.[reportIndex]?.response?.location ?? '';
  const match = /DiagnosticReport\/([^/]+)/.exec(location);
  const reportId = match?.[1] ?? (response.entry?.[reportIndex]?.resource as DiagnosticReport | undefined)?.id;
  return reportId ? { bundle, reportId } : { bundle };
}
