import { AppError } from '../domain/errors';
import { assertFiniteFindings } from '../domain/finite';
import type { Findings } from '../domain/findings';
import type { JobResult } from '../domain/job';
import type { JobContext } from './context';
import { computeFindings, resumeFindings, saveCheckpoint } from './stages/compute-findings';
import { storeSeg } from './stages/store-seg';
import { jobLineage, planOutputs, supersedePrevious } from './stages/supersede-previous';
import { writeFhir } from './stages/write-fhir';

/**
 * The whole flow for one job, top to bottom. Each stage is recorded before it starts, so a crash leaves the job's
 * last stage on record. What is computed (findings, the encoded SEG) and what is written (SEG stored, FHIR written)
 * is kept as a checkpoint, so a re-run after an outage or a crash resumes where it stopped instead of repeating
 * retrieval and inference; repeating a write is safe anyway because every output carries identifiers derived from
 * the job's idempotency key (the SEG replaces itself, FHIR writes are conditional).
 */
export async function runPipeline(ctx: JobContext): Promise<JobResult> {
  const computed = (await resumeFindings(ctx)) ?? (await computeFindings(ctx));
  const { findings, study } = computed;
  // Nothing is written from a NaN or infinite volume or probability.
  assertFiniteFindings(findings);

  await holdWhileStudyChanges(ctx);
  const plan = await planOutputs(ctx);
  if (plan.kind === 'skip') return { summary: summarise(findings), supersededBy: plan.current.jobId };

  const result: JobResult = {};
  if (findings.kind === 'segmentation') {
    await ctx.enter('store-seg');
    if (!computed.segStored) {
      const location = await storeSeg(ctx, computed.seg as Uint8Array, findings.segSopInstanceUid);
      computed.segStored = location ? { location } : {};
      await saveCheckpoint(ctx, computed);
    }
    result.segSeriesInstanceUid = findings.segSeriesInstanceUid;
    result.segSopInstanceUid = findings.segSopInstanceUid;
    if (computed.segStored.location) result.segPath = computed.segStored.location;
    study.series.push({
      seriesInstanceUid: findings.segSeriesInstanceUid,
      modality: 'SEG',
      seriesNumber: findings.segSeriesNumber,
      instances: [{ sopInstanceUid: findings.segSopInstanceUid, sopClassUid: findings.segSopClassUid }],
    });
  }

  await ctx.enter('write-fhir');
  if (!computed.fhirWritten) {
    const written = await writeFhir(ctx, study, findings, { lineage: jobLineage(ctx), ...(plan.replaces ? { replaces: plan.replaces } : {}) });
    computed.fhirWritten = written.reportId ? { reportId: written.reportId } : {};
    await saveCheckpoint(ctx, computed);
  }
  if (computed.fhirWritten.reportId) result.reportId = computed.fhirWritten.reportId;
  result.summary = summarise(findings);

  // Only now, with this result stored and written, are earlier results of the lineage retired.
  await ctx.enter('supersede');
  const settled = await supersedePrevious(ctx, {
    ...(result.reportId ? { reportId: result.reportId } : {}),
    ...(result.segSopInstanceUid ? { segSopInstanceUid: result.segSopInstanceUid } : {}),
    ...(result.segSeriesInstanceUid ? { segSeriesInstanceUid: result.segSeriesInstanceUid } : {}),
  });
  if (settled.current.jobId !== ctx.job.id) result.supersededBy = settled.current.jobId;
  return result;
}

/**
 * A study that grew after this job was routed is settling again, and its newer job will supersede this one: rather
 * than publish now and be withdrawn seconds later, the outputs wait (the computation is kept in the checkpoint) until
 * it settles; then planOutputs decides whether this job is still current. Only within the completion window after
 * the job was created: a study held for ever must not hold its results for ever.
 */
async function holdWhileStudyChanges(ctx: JobContext): Promise<void> {
  const { deps, job } = ctx;
  if (!deps.studyChanging) return;
  const now = (deps.now ?? (() => new Date()))().getTime();
  if (deps.publicationHoldMs !== undefined && now - Date.parse(job.createdAt) > deps.publicationHoldMs) return;
  const changing = await deps.studyChanging(job.studyInstanceUid);
  if (!changing) return;
  throw new AppError('STUDY_CHANGING', 'the study changed after this job was routed; its outputs wait until it is complete again', {
    retryable: true,
    details: { postponeUntil: Math.max(changing.until, now + 1000) },
  });
}

/** One line without patient data, for job listings and CLI output. */
export function summarise(findings: Findings): string {
  if (findings.kind === 'segmentation') {
    return findings.segments.map((s) => `${s.label}: ${s.volumeMl.toFixed(1)} mL`).join('; ');
  }
  return findings.classes.map((c) => `${c.label}: ${(c.probability * 100).toFixed(1)}%${c.present ? ' (present)' : ''}`).join('; ');
}
