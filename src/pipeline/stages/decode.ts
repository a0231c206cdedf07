import { readPart10, str, type ParsedPart10 } from '../../dicom/part10';
import { AppError } from '../../domain/errors';
import type { JobContext } from '../context';

/**
 * Parses every instance; keeps only those the job names (a PACS may return extra ones). With a vetter, each
 * instance is vetted out of process first, so this process never parses bytes that took the vetting parser down;
 * such an instance fails the job with BAD_DICOM (not retryable: the same bytes would crash it again).
 */
export async function parseInstances(ctx: JobContext, parts: readonly Uint8Array[]): Promise<ParsedPart10[]> {
  const wanted = new Set(ctx.job.instanceUids);
  const vetter = ctx.deps.vetter;
  if (vetter) {
    const verdicts = await Promise.all(parts.map((bytes) => vetter.vet({ bytes })));
    const bad = verdicts.findIndex((v) => !v.ok);
    const verdict = verdicts[bad];
    if (verdict && !verdict.ok) {
      const others = verdicts.filter((v) => !v.ok).length - 1;
      throw new AppError(verdict.code, `instance ${bad + 1} of ${parts.length}: ${verdict.message}${others > 0 ? ` (and ${others} more)` : ''}`);
    }
  }
  const parsed = parts.map((p) => readPart10(p, { maxBytes: ctx.deps.limits.maxInstanceBytes }));
  const kept = parsed.filter((p) => wanted.has(str(p.dataset, 'SOPInstanceUID') ?? ''));
  if (kept.length !== wanted.size) {
    throw new AppError('BAD_DICOM', `${wanted.size - kept.length} of ${wanted.size} instances are missing or carry other SOP Instance UIDs`);
  }
  return kept;
}
