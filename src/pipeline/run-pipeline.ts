import { loadPixelCodecs } from '../dicom/decode';
import { buildVolume } from '../dicom/volume';
import { AppError } from '../domain/errors';
import type { Findings } from '../domain/findings';
import type { JobResult } from '../domain/job';
import type { JobContext } from './context';
import { parseInstances } from './stages/decode';
import { encodeSeg } from './stages/encode-seg';
import { classifyVolume } from './stages/infer-classification';
import { segmentVolume } from './stages/infer-segmentation';
import { segmentVolume3d } from './stages/infer-volume';
import { retrieveSeries } from './stages/retrieve';
import { storeSeg } from './stages/store-seg';
import { jobLineage, planOutputs, supersedePrevious, type OutputPlan } from './stages/supersede-previous';
import { studyFromSource } from './stages/study-from-source';
import { writeFhir } from './stages/write-fhir';

/**
 * The whole flow for one job, top to bottom. Each stage is recorded before it starts, so a crash leaves the job's
 * last stage on record; a re-run repeats every stage, which is safe because every output carries identifiers
 * derived from the job's idempotency key (the SEG replaces itself, FHIR writes are conditional).
 */
export async function runPipeline(ctx: JobContext): Promise<JobResult> {
  const { job, deps, model } = ctx;

  await ctx.enter('retrieve');
  const parts = await retrieveSeries(ctx);

  await ctx.enter('decode');
  const instances = parseInstances(ctx, parts);
  const first = instances[0];
  if (!first) throw new AppError('NO_MATCHING_SERIES', 'the job has no instances');
  const study = studyFromSource(first.dataset, job.instanceUids);

  await ctx.enter('volume');
  // Compressed transfer syntaxes need the codec WebAssembly; loading is once per process (again after a codec error).
  await loadPixelCodecs();
  const volume = buildVolume(instances, {
    decodeLimits: { maxVoxels: deps.limits.maxVoxels },
    // Uneven slice gaps are kept (as sliceOffsets) only for models that resample them to a uniform grid.
    nonUniformSpacing: model.manifest.preprocessing.nonUniformSpacing ?? 'reject',
  });

  await ctx.enter('infer');
  let findings: Findings;
  const result: JobResult = {};
  let plan: OutputPlan;
  if (model.manifest.task === 'segmentation') {
    const segmentation = model.manifest.io.layout === 'volume' ? await segmentVolume3d(ctx, volume) : await segmentVolume(ctx, volume);

    await ctx.enter('encode');
    const seg = encodeSeg(ctx, first.dataset, volume, segmentation);

    plan = await planOutputs(ctx);
    if (plan.kind === 'skip') return { summary: summarise(seg.findings), supersededBy: plan.current.jobId };
    await ctx.enter('store-seg');
    const location = await storeSeg(ctx, seg.part10, seg.findings.segSopInstanceUid);
    findings = seg.findings;
    result.segSeriesInstanceUid = seg.findings.segSeriesInstanceUid;
    result.segSopInstanceUid = seg.findings.segSopInstanceUid;
    if (location) result.segPath = location;
    study.series.push({
      seriesInstanceUid: seg.findings.segSeriesInstanceUid,
      modality: 'SEG',
      seriesNumber: seg.findings.segSeriesNumber,
      instances: [{ sopInstanceUid: seg.findings.segSopInstanceUid, sopClassUid: seg.findings.segSopClassUid }],
    });
  } else {
    findings = await classifyVolume(ctx, volume);
    plan = await planOutputs(ctx);
    if (plan.kind === 'skip') return { summary: summarise(findings), supersededBy: plan.current.jobId };
  }

  await ctx.enter('write-fhir');
  const written = await writeFhir(ctx, study, findings, { lineage: jobLineage(ctx), ...(plan.replaces ? { replaces: plan.replaces } : {}) });
  if (written.reportId) result.reportId = written.reportId;
  result.summary = summarise(findings);

  // Only now, with this result stored and written, are earlier results of the lineage retired.
  await ctx.enter('supersede');
  const settled = await supersedePrevious(ctx, {
    ...(result.reportId ? { reportId: result.reportId } : {}),
    ...(result.segSopInstanceUid ? { segSopInstanceUid: result.segSopInstanceUid } : {}),
    ...(result.segSeriesInstanceUid ? { segSeriesInstanceUid: result.segSeriesInstanceUid } : {}),
  });
  if (settled.current.jobId !== job.id) result.supersededBy = settled.current.jobId;
  return result;
}

/** One line without patient data, for job listings and CLI output. */
export function summarise(findings: Findings): string {
  if (findings.kind === 'segmentation') {
    return findings.segments.map((s) => `${s.label}: ${s.volumeMl.toFixed(1)} mL`).join('; ');
  }
  return findings.classes.map((c) => `${c.label}: ${(c.probability * 100).toFixed(1)}%${c.present ? ' (present)' : ''}`).join('; ');
}
