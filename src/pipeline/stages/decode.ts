import { readPart10, str, type ParsedPart10 } from '../../dicom/part10';
import { AppError } from '../../domain/errors';
import type { JobContext } from '../context';

/** Parses every instance; keeps only those the job names (a PACS may return extra ones). */
export function parseInstances(ctx: JobContext, parts: readonly Uint8Array[]): ParsedPart10[] {
  const wanted = new Set(ctx.job.instanceUids);
  const parsed = parts.map((p) => readPart10(p, { maxBytes: ctx.deps.limits.maxInstanceBytes }));
  const kept = parsed.filter((p) => wanted.has(str(p.dataset, 'SOPInstanceUID') ?? ''));
  if (kept.length !== wanted.size) {
    throw new AppError('BAD_DICOM', `${wanted.size - kept.length} of ${wanted.size} instances are missing or carry other SOP Instance UIDs`);
  }
  return kept;
}
