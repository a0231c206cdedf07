import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { logHash } from '../../src/domain/identity';
import type { Logger } from '../../src/logging';
import type { JobCheckpoint, JobCheckpoints, LoadedCheckpoint } from '../../src/ports/job-checkpoints';

const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;
const STATE = 'checkpoint.json';
const SEG = 'seg.dcm';

export interface FolderJobCheckpointsOptions {
  /** Largest SEG kept per job (bytes); bigger ones are recomputed on a re-run instead. */
  maxSegBytes: number;
  /** False while the data disk is under its free-space watermark: nothing new is written then. */
  spaceAvailable?: () => boolean;
  logger: Logger;
}

/**
 * Checkpoints as files: `<dir>/<job id>/checkpoint.json` and `seg.dcm`, each written to a temporary file and renamed,
 * so a reader sees a whole file or none. A torn or foreign file is never used: the JSON must parse and name the job's
 * idempotency key, the SEG must match its recorded SHA-256; otherwise the job recomputes. Being a cache, files are
 * not fsynced: a checkpoint lost in a power cut costs a recomputation, not a result.
 */
export class FolderJobCheckpoints implements JobCheckpoints {
  constructor(
    private readonly dir: string,
    private readonly options: FolderJobCheckpointsOptions,
  ) {}

  private jobDir(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new Error('not a job id');
    return path.join(this.dir, jobId);
  }

  private async writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, data);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async save(jobId: string, checkpoint: JobCheckpoint, seg?: Uint8Array): Promise<boolean> {
    if (seg && seg.length > this.options.maxSegBytes) {
      this.options.logger.info({ jobId, bytes: seg.length, maxSegBytes: this.options.maxSegBytes }, 'SEG larger than the checkpoint bound: a re-run recomputes it');
      return false;
    }
    if (this.options.spaceAvailable && !this.options.spaceAvailable()) return false;
    const dir = this.jobDir(jobId);
    try {
      await mkdir(dir, { recursive: true });
      // The SEG first: a checkpoint that names a SEG digest is only written once those bytes are there.
      if (seg) await this.writeAtomically(path.join(dir, SEG), seg);
      await this.writeAtomically(path.join(dir, STATE), JSON.stringify(checkpoint));
      return true;
    } catch (err) {
      this.options.logger.warn({ jobId, code: (err as NodeJS.ErrnoException).code }, 'checkpoint not kept: a re-run recomputes');
      return false;
    }
  }

  async load(jobId: string, idempotencyKey: string): Promise<LoadedCheckpoint | undefined> {
    const dir = this.jobDir(jobId);
    let checkpoint: JobCheckpoint;
    try {
      checkpoint = JSON.parse(await readFile(path.join(dir, STATE), 'utf8')) as JobCheckpoint;
    } catch {
      return undefined;
    }
    if (checkpoint?.idempotencyKey !== idempotencyKey || !checkpoint.findings || !checkpoint.study) {
      this.options.logger.warn({ jobId, key: logHash(idempotencyKey) }, 'checkpoint of another computation ignored');
      return undefined;
    }
    return {
      checkpoint,
      readSeg: async () => {
        if (!checkpoint.seg) return undefined;
        try {
          const bytes = await readFile(path.join(dir, SEG));
          if (bytes.length === checkpoint.seg.bytes && createHash('sha256').update(bytes).digest('hex') === checkpoint.seg.sha256) return new Uint8Array(bytes);
        } catch {
          /* missing: recompute */
        }
        this.options.logger.warn({ jobId }, 'checkpointed SEG missing or changed: recomputing');
        return undefined;
      },
    };
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.jobDir(jobId), { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isDirectory() && JOB_ID.test(e.name)).map((e) => e.name);
    } catch {
      return [];
    }
  }
}
