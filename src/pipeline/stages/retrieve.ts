import { AppError } from '../../domain/errors';
import { auditJob, failed } from '../audit';
import type { JobContext } from '../context';

/** Fetches exactly the instances the job was routed on; a missing instance fails the job rather than shrink it. */
export async function retrieveSeries(ctx: JobContext): Promise<Uint8Array[]> {
  const { job } = ctx;
  const entities = [
    { kind: 'study' as const, id: job.studyInstanceUid, description: `series ${job.seriesInstanceUid}, ${job.instanceUids.length} instances` },
    { kind: 'job' as const, id: job.id },
  ];
  let parts: Uint8Array[];
  try {
    parts = await fetchInstances(ctx);
  } catch (err) {
    await auditJob(ctx, { action: 'study-retrieved', entities, ...failed(err) });
    throw err;
  }
  await auditJob(ctx, { action: 'study-retrieved', entities });
  return parts;
}

async function fetchInstances(ctx: JobContext): Promise<Uint8Array[]> {
  const { job, deps } = ctx;
  const parts = await deps.source.retrieveInstances(job.studyInstanceUid, job.seriesInstanceUid, job.instanceUids, job);
  if (parts.length !== job.instanceUids.length) {
    throw new AppError('PACS_UNAVAILABLE', `retrieved ${parts.length} of ${job.instanceUids.length} instances`, { retryable: true });
  }
  const tooBig = parts.find((p) => p.length > deps.limits.maxInstanceBytes);
  if (tooBig) throw new AppError('TOO_LARGE', `an instance of ${tooBig.length} bytes exceeds limits.maxInstanceBytes`);
  return parts;
}
