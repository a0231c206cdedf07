import type { DiagnosticReport, ImagingStudy, Observation } from '@medplum/fhirtypes';
import { toAppError } from '../../domain/errors';
import { logHash } from '../../domain/identity';
import { isUnfinished, STAGES } from '../../domain/job';
import { resultLineage, type LineageOutputs, type LineageResult } from '../../domain/lineage';
import { imagingStudyWithoutSeries, reportWithReplacesLink, retiredObservation, retiredReport } from '../../fhir/supersede';
import { auditJob } from '../audit';
import type { JobContext } from '../context';
import { relativeReference } from '../../fhir/references';

/**
 * The supersede policy (docs/decisions/0009-supersede-policy.md). Jobs of one result lineage (study + series +
 * model) are recomputations of one result; the job created last is current. Its outputs are written first, then
 * the earlier ones retired: FHIR report and Observations `entered-in-error` with a link to the current report, SEG
 * series taken out of the ImagingStudy, SEG instance deleted where the store can. Every step is idempotent and the
 * job store lists a superseded result until it is marked retired, so a crash anywhere converges on the re-run.
 */

/** What to do before writing outputs. */
export type OutputPlan =
  /** A newer job of the lineage is already current and this job never wrote anything: write nothing. */
  | { kind: 'skip'; current: LineageResult }
  /** Write outputs; `replaces` is the report to link to (the lineage's current one, older than this job). */
  | { kind: 'write'; replaces?: string };

export function jobLineage(ctx: JobContext): string {
  return resultLineage(ctx.job);
}

/** An earlier attempt of this job may have stored a SEG or written FHIR when it got as far as store-seg. */
function earlierAttemptMayHaveWritten(ctx: JobContext): boolean {
  return ctx.job.stage !== undefined && STAGES.indexOf(ctx.job.stage) >= STAGES.indexOf('store-seg');
}

/**
 * A job of the same lineage created after this one that has not ended yet: it will supersede whatever this job
 * writes now (the study changed after this job was routed), so this one need not publish at all.
 */
async function newerPendingJob(ctx: JobContext): Promise<string | undefined> {
  const { job } = ctx;
  const all = await ctx.deps.jobs.list({ studyInstanceUid: job.studyInstanceUid, limit: 1000 });
  const mine = all.findIndex((j) => j.id === job.id);
  // list() is newest first: the jobs before this one were created after it.
  const newer = all.slice(0, mine < 0 ? 0 : mine).filter((j) => j.seriesInstanceUid === job.seriesInstanceUid && j.modelId === job.modelId);
  return newer.find(isUnfinished)?.id;
}

export async function planOutputs(ctx: JobContext): Promise<OutputPlan> {
  const lineage = jobLineage(ctx);
  const view = await ctx.deps.jobs.viewLineage(lineage, ctx.job.id);
  const current = view.current;
  if (!current || !view.currentIsNewer) {
    const newer = earlierAttemptMayHaveWritten(ctx) ? undefined : await newerPendingJob(ctx);
    if (newer) return { kind: 'skip', current: { lineage, jobId: newer, outputs: {}, retired: false } };
  }
  if (!current) return { kind: 'write' };
  if (view.currentIsNewer) {
    // Outputs of an earlier attempt must be retired at settle, so such a job goes on (its writes are idempotent).
    if (!earlierAttemptMayHaveWritten(ctx)) return { kind: 'skip', current };
    return { kind: 'write' };
  }
  if (current.jobId === ctx.job.id || !current.outputs.reportId) return { kind: 'write' };
  return { kind: 'write', replaces: `DiagnosticReport/${current.outputs.reportId}` };
}

export interface SupersedeOutcome {
  current: LineageResult;
  /** Results retired by this call (jobs ids), including this job's own when a newer one was already current. */
  retired: string[];
}

/** Records this job's outputs in its lineage and retires every older result that is not retired yet. */
export async function supersedePrevious(ctx: JobContext, outputs: LineageOutputs): Promise<SupersedeOutcome> {
  const { deps } = ctx;
  const settlement = await deps.jobs.settleLineage(jobLineage(ctx), ctx.job.id, outputs);
  const retired: string[] = [];
  for (const old of settlement.superseded) {
    await retireResult(ctx, old, settlement.current);
    await deps.jobs.markRetired(old.jobId);
    retired.push(old.jobId);
  }
  if (retired.length > 0) {
    ctx.log.info({ lineage: logHash(settlement.current.lineage), current: settlement.current.jobId, retired }, 'earlier results superseded');
  }
  return { current: settlement.current, retired };
}

/** A FHIR resource that is gone (404/410) needs no retiring: a user deleted it, or it never reached the server. */
function isGone(err: unknown): boolean {
  const status = toAppError(err).details?.upstreamStatus;
  return status === 404 || status === 410;
}

async function update<T extends DiagnosticReport | Observation | ImagingStudy>(
  ctx: JobContext,
  reference: string,
  change: (current: T) => T | undefined,
): Promise<void> {
  const fhir = ctx.deps.fhir;
  if (!fhir) return;
  try {
    await fhir.updateResource<T>(reference, change);
  } catch (err) {
    if (!isGone(err)) throw err;
    ctx.log.warn({ type: reference.split('/')[0] }, 'resource to retire is gone; nothing to change');
  }
}

/** New outputs are already written (settle comes after write-fhir), so the old are retired in favour of them. */
async function retireResult(ctx: JobContext, old: LineageResult, current: LineageResult): Promise<void> {
  const { deps } = ctx;
  const oldReport = old.outputs.reportId ? `DiagnosticReport/${old.outputs.reportId}` : undefined;
  const currentReport = current.outputs.reportId ? `DiagnosticReport/${current.outputs.reportId}` : undefined;

  // (1) FHIR: the old report and its Observations withdrawn, linked to the current report; the current one linked
  // back (when it was written before the old one was known); the old SEG series out of the ImagingStudy.
  if (deps.fhir && oldReport && currentReport) {
    let seen: DiagnosticReport | undefined;
    await update<DiagnosticReport>(ctx, oldReport, (report) => {
      seen = report;
      return retiredReport(report, currentReport);
    });
    for (const result of seen?.result ?? []) {
      const ref = relativeReference(result.reference);
      if (ref?.startsWith('Observation/')) await update<Observation>(ctx, ref, (o) => retiredObservation(o, currentReport));
    }
    if (seen) {
      await auditJob(ctx, {
        action: 'report-superseded',
        entities: [
          { kind: 'fhir-resource', id: oldReport, description: 'withdrawn (entered-in-error)' },
          { kind: 'fhir-resource', id: currentReport, description: 'replaces it' },
          { kind: 'study', id: ctx.job.studyInstanceUid },
        ],
        ...(seen.subject?.reference && /^Patient\/[^/]+$/.test(seen.subject.reference) ? { patient: seen.subject.reference } : {}),
      });
      await update<DiagnosticReport>(ctx, currentReport, (report) => reportWithReplacesLink(report, oldReport));
    }
    const segSeries = old.outputs.segSeriesInstanceUid;
    if (segSeries && segSeries !== current.outputs.segSeriesInstanceUid) {
      for (const study of seen?.imagingStudy ?? []) {
        const ref = relativeReference(study.reference);
        if (ref?.startsWith('ImagingStudy/')) await update<ImagingStudy>(ctx, ref, (s) => imagingStudyWithoutSeries(s, segSeries));
      }
    }
  }

  // (2) DICOM: the old SEG deleted where the store can; plain DICOMweb cannot, so it stays (documented in docs/seg.md).
  const { segSopInstanceUid, segSeriesInstanceUid } = old.outputs;
  if (segSopInstanceUid && segSeriesInstanceUid && segSopInstanceUid !== current.outputs.segSopInstanceUid) {
    if (deps.store.deleteInstance) {
      const deleted = await deps.store.deleteInstance(ctx.job.studyInstanceUid, segSeriesInstanceUid, segSopInstanceUid);
      if (deleted) {
        await auditJob(ctx, {
          action: 'dicom-deleted',
          entities: [
            { kind: 'study', id: ctx.job.studyInstanceUid },
            { kind: 'dicom-instance', id: segSopInstanceUid, description: 'superseded DICOM SEG' },
          ],
        });
      }
      ctx.log.info({ seg: logHash(segSopInstanceUid), deleted }, 'superseded SEG removed from the store');
    } else {
      ctx.log.warn({ seg: logHash(segSopInstanceUid) }, 'the store cannot delete instances: the superseded SEG stays in the PACS');
    }
  }
}
