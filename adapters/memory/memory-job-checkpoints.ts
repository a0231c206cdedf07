import { createHash } from 'node:crypto';
import type { JobCheckpoint, JobCheckpoints, LoadedCheckpoint } from '../../src/ports/job-checkpoints';

/** In-memory twin of the folder checkpoints (CLI runs, tests); same contract (test/support/job-checkpoints-contract.ts). */
export class MemoryJobCheckpoints implements JobCheckpoints {
  private readonly entries = new Map<string, { checkpoint: JobCheckpoint; seg?: Uint8Array }>();

  constructor(private readonly options: { maxSegBytes: number } = { maxSegBytes: Number.MAX_SAFE_INTEGER }) {}

  async save(jobId: string, checkpoint: JobCheckpoint, seg?: Uint8Array): Promise<boolean> {
    if (seg && seg.length > this.options.maxSegBytes) return false;
    const previous = this.entries.get(jobId);
    const keptSeg = seg ? seg.slice() : previous?.seg;
    const entry: { checkpoint: JobCheckpoint; seg?: Uint8Array } = { checkpoint: structuredClone(checkpoint) };
    if (keptSeg) entry.seg = keptSeg;
    this.entries.set(jobId, entry);
    return true;
  }

  async load(jobId: string, idempotencyKey: string): Promise<LoadedCheckpoint | undefined> {
    const entry = this.entries.get(jobId);
    if (!entry || entry.checkpoint.idempotencyKey !== idempotencyKey) return undefined;
    const { checkpoint, seg } = entry;
    return {
      checkpoint: structuredClone(checkpoint),
      readSeg: async () => {
        if (!seg || !checkpoint.seg) return undefined;
        return createHash('sha256').update(seg).digest('hex') === checkpoint.seg.sha256 ? seg.slice() : undefined;
      },
    };
  }

  async remove(jobId: string): Promise<void> {
    this.entries.delete(jobId);
  }

  async list(): Promise<string[]> {
    return [...this.entries.keys()];
  }
}
