import { createHash } from 'node:crypto';
import { loadPixelCodecs } from '../../dicom/decode';
import { buildVolume } from '../../dicom/volume';
import { AppError } from '../../domain/errors';
import type { Findings } from '../../domain/findings';
import type { StudyInfo } from '../../domain/study';
import type { JobCheckpoint } from '../../ports/job-checkpoints';
import type { JobContext } from '../context';
import { parseInstances } from './decode';
import { encodeSeg } from './encode-seg';
import { classifyVolume } from './infer-classification';
import { segmentVolume } from './infer-segmentation';
import { segmentVolume3d } from './infer-volume';
import { retrieveSeries } from './retrieve';
import { studyFromSource } from './study-from-source';

/** What the compute stages produced: enough to write every output without the pixels. */
export interface Computed {
  study: StudyInfo;
  findings: Findings;
  /** The encoded SEG (segmentation jobs) and its SHA-256 (hashed once, when first checkpointed). */
  seg?: Uint8Array;
  segSha256?: string;
  /** Progress of the writes, when resumed from a checkpoint. */
  segStored?: { location?: string };
  fhirWritten?: { reportId?: string };
}

/** retrieve → decode → volume → infer (→ encode): the expensive half of a job, kept as a checkpoint once done. */
export async function computeFindings(ctx: JobContext): Promise<Computed> {
  const { job, deps, model } = ctx;

  await ctx.enter('retrieve');
  const parts = await retrieveSeries(ctx);

  await ctx.enter('decode');
  const instances = await parseInstances(ctx, parts);
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
  let computed: Computed;
  if (model.manifest.task === 'segmentation') {
    const segmentation = model.manifest.io.layout === 'volume' ? await segmentVolume3d(ctx, volume) : await segmentVolume(ctx, volume);
    await ctx.enter('encode');
    const seg = encodeSeg(ctx, first.dataset, volume, segmentation);
    computed = { study, findings: seg.findings, seg: seg.part10 };
  } else {
    computed = { study, findings: await classifyVolume(ctx, volume) };
  }
  await saveCheckpoint(ctx, computed, true);
  return computed;
}

/** The job's checkpoint from an earlier run, when one is kept and whole (a SEG not yet stored must be there too). */
export async function resumeFindings(ctx: JobContext): Promise<Computed | undefined> {
  const saved = await ctx.deps.checkpoints?.load(ctx.job.id, ctx.job.idempotencyKey);
  if (!saved) return undefined;
  const { checkpoint } = saved;
  const computed: Computed = { study: checkpoint.study, findings: checkpoint.findings };
  if (checkpoint.segStored) computed.segStored = checkpoint.segStored;
  if (checkpoint.fhirWritten) computed.fhirWritten = checkpoint.fhirWritten;
  if (checkpoint.seg) computed.segSha256 = checkpoint.seg.sha256;
  if (checkpoint.findings.kind === 'segmentation' && !checkpoint.segStored) {
    const seg = await saved.readSeg();
    if (!seg) return undefined;
    computed.seg = seg;
  }
  ctx.log.info({ resumedAt: checkpoint.fhirWritten ? 'supersede' : checkpoint.segStored ? 'write-fhir' : 'store' }, 'resuming from the checkpoint of an earlier run: nothing recomputed');
  return computed;
}

/** Records the computation (with the SEG bytes the first time) and the writes done so far. */
export async function saveCheckpoint(ctx: JobContext, computed: Computed, withSeg = false): Promise<void> {
  const store = ctx.deps.checkpoints;
  if (!store) return;
  const checkpoint: JobCheckpoint = { idempotencyKey: ctx.job.idempotencyKey, study: computed.study, findings: computed.findings };
  if (computed.seg) {
    computed.segSha256 ??= createHash('sha256').update(computed.seg).digest('hex');
    checkpoint.seg = { sha256: computed.segSha256, bytes: computed.seg.length };
  }
  if (computed.segStored) checkpoint.segStored = computed.segStored;
  if (computed.fhirWritten) checkpoint.fhirWritten = computed.fhirWritten;
  await store.save(ctx.job.id, checkpoint, withSeg ? computed.seg : undefined);
}
