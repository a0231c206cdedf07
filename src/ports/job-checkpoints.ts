import type { Findings } from '../domain/findings';
import type { StudyInfo } from '../domain/study';

/**
 * What a job has already computed and written, so a re-run resumes at the stage that failed instead of repeating
 * retrieval and inference (docs/reliability.md, "Resume, don't repeat"). It holds patient data (the study's
 * patient/study attributes for the FHIR write): it lives beside the job store, never in the job API.
 */
export interface JobCheckpoint {
  /** The job's idempotency key: a checkpoint of another computation is never used. */
  idempotencyKey: string;
  study: StudyInfo;
  findings: Findings;
  /** The encoded SEG of a segmentation job, kept beside the checkpoint: its SHA-256 and size. */
  seg?: { sha256: string; bytes: number };
  /** Set once the store confirmed the SEG. */
  segStored?: { location?: string };
  /** Set once the FHIR transaction was written. */
  fhirWritten?: { reportId?: string };
}

export interface LoadedCheckpoint {
  checkpoint: JobCheckpoint;
  /** The SEG bytes, checked against the recorded digest; undefined when there is none or it does not match. */
  readSeg(): Promise<Uint8Array | undefined>;
}

/** Where checkpoints are kept until their job ends: the data dir, or memory (CLI, tests). */
export interface JobCheckpoints {
  /**
   * Keeps (or replaces) the job's checkpoint; with `seg`, the SEG bytes too (without, earlier SEG bytes stay).
   * Resolves false when it was not kept (over the size bound, disk refused): the job then recomputes on a re-run.
   */
  save(jobId: string, checkpoint: JobCheckpoint, seg?: Uint8Array): Promise<boolean>;
  /** The job's checkpoint if there is a readable one for this idempotency key. */
  load(jobId: string, idempotencyKey: string): Promise<LoadedCheckpoint | undefined>;
  remove(jobId: string): Promise<void>;
  /** Job ids with a checkpoint (for removing those of jobs that ended). */
  list(): Promise<string[]>;
}
