import { AppError } from '../../domain/errors';
import type { JobContext } from '../context';

/** Stores the SEG and checks the store accepted exactly it; FHIR is written only after this resolves. */
export async function storeSeg(ctx: JobContext, part10: Uint8Array, sopInstanceUid: string): Promise<string | undefined> {
  const outcome = await ctx.deps.store.store(ctx.job.studyInstanceUid, [part10]);
  if (!outcome.stored.includes(sopInstanceUid)) {
    throw new AppError('PACS_REJECTED', 'the store did not confirm the SEG instance', { retryable: false });
  }
  return outcome.location;
}
