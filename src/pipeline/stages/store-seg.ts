import { AppError } from '../../domain/errors';
import { auditJob, failed } from '../audit';
import type { JobContext } from '../context';

/** Stores the SEG and checks the store accepted exactly it; FHIR is written only after this resolves. */
export async function storeSeg(ctx: JobContext, part10: Uint8Array, sopInstanceUid: string): Promise<string | undefined> {
  const entities = [
    { kind: 'study' as const, id: ctx.job.studyInstanceUid },
    { kind: 'dicom-instance' as const, id: sopInstanceUid, description: 'DICOM SEG (AI result)' },
    { kind: 'job' as const, id: ctx.job.id },
  ];
  try {
    const outcome = await ctx.deps.store.store(ctx.job.studyInstanceUid, [part10]);
    if (!outcome.stored.includes(sopInstanceUid)) {
      throw new AppError('PACS_REJECTED', 'the store did not confirm the SEG instance', { retryable: false });
    }
    await auditJob(ctx, { action: 'dicom-stored', entities });
    return outcome.location;
  } catch (err) {
    await auditJob(ctx, { action: 'dicom-stored', entities, ...failed(err) });
    throw err;
  }
}
