import { randomUUID } from 'node:crypto';
import type { Job, JobResult, JobSpec, JobState, Stage } from '../../src/domain/job';
import type { LineageOutputs, LineageResult, LineageSettlement, LineageView } from '../../src/domain/lineage';
import type { JobError, JobStore } from '../../src/ports/job-store';

/** In-memory twin of the SQLite job store for fast tests; same contract (test/support/job-store-contract.ts). */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly byKey = new Map<string, string>();
  private readonly cursors = new Map<string, string>();
  private seq = 0;
  private readonly order = new Map<string, number>();
  /** Recorded lineage results by job id. */
  private readonly lineageResults = new Map<string, LineageResult>();

  private update(jobId: string, change: Partial<Job>, clear: (keyof Job)[] = []): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const next: Job = { ...job, ...change, updatedAt: new Date().toISOString() };
    for (const k of clear) delete next[k];
    this.jobs.set(jobId, next);
  }

  async enqueue(spec: JobSpec): Promise<{ job: Job; created: boolean }> {
    const existing = this.byKey.get(spec.idempotencyKey);
    if (existing) return { job: structuredClone(this.jobs.get(existing) as Job), created: false };
    const now = new Date().toISOString();
    const job: Job = {
      id: randomUUID(),
      idempotencyKey: spec.idempotencyKey,
      studyInstanceUid: spec.studyInstanceUid,
      seriesInstanceUid: spec.seriesInstanceUid,
      instanceUids: [...spec.instanceUids].sort(),
      modelId: spec.modelId,
      modelVersion: spec.modelVersion,
      modelDigest: spec.modelDigest,
      source: spec.source,
      state: 'queued',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (spec.sourceRef !== undefined) job.sourceRef = spec.sourceRef;
    this.jobs.set(job.id, job);
    this.byKey.set(job.idempotencyKey, job.id);
    this.order.set(job.id, this.seq++);
    return { job: structuredClone(job), created: true };
  }

  async claimNext(now: Date): Promise<Job | undefined> {
    const iso = now.toISOString();
    const next = [...this.jobs.values()]
      .filter((j) => j.state === 'queued' && (!j.notBefore || j.notBefore <= iso))
      .sort((a, b) => (this.order.get(a.id) ?? 0) - (this.order.get(b.id) ?? 0))[0];
    if (!next) return undefined;
    this.update(next.id, { state: 'running', attempts: next.attempts + 1 });
    return structuredClone(this.jobs.get(next.id));
  }

  async recordStage(jobId: string, stage: Stage): Promise<void> {
    this.update(jobId, { stage });
  }

  async succeed(jobId: string, result: JobResult): Promise<void> {
    this.update(jobId, { state: 'succeeded', result }, ['lastError', 'notBefore']);
  }

  async retryLater(jobId: string, error: JobError, notBefore: Date): Promise<void> {
    this.update(jobId, { state: 'queued', lastError: error, notBefore: notBefore.toISOString() });
  }

  async fail(jobId: string, error: JobError): Promise<void> {
    this.update(jobId, { state: 'failed', lastError: error }, ['notBefore']);
  }

  async requeueInterrupted(): Promise<number> {
    let n = 0;
    for (const job of this.jobs.values()) {
      if (job.state === 'running') {
        this.update(job.id, { state: 'queued' }, ['notBefore']);
        n++;
      }
    }
    return n;
  }

  async get(jobId: string): Promise<Job | undefined> {
    const job = this.jobs.get(jobId);
    return job ? structuredClone(job) : undefined;
  }

  async findByKey(idempotencyKey: string): Promise<Job | undefined> {
    const id = this.byKey.get(idempotencyKey);
    return id ? this.get(id) : undefined;
  }

  async list(filter: { state?: JobState; studyInstanceUid?: string; limit?: number } = {}): Promise<Job[]> {
    return [...this.jobs.values()]
      .filter((j) => (!filter.state || j.state === filter.state) && (!filter.studyInstanceUid || j.studyInstanceUid === filter.studyInstanceUid))
      .sort((a, b) => (this.order.get(b.id) ?? 0) - (this.order.get(a.id) ?? 0))
      .slice(0, filter.limit ?? 100)
      .map((j) => structuredClone(j));
  }

  async settleLineage(lineage: string, jobId: string, outputs: LineageOutputs): Promise<LineageSettlement> {
    if (!this.jobs.has(jobId)) throw new Error(`settleLineage: no job ${jobId}`);
    const had = this.lineageResults.get(jobId);
    this.lineageResults.set(jobId, { lineage, jobId, outputs: { ...outputs }, retired: had?.retired ?? false });
    const members = this.lineageMembers(lineage);
    const current = members[members.length - 1] as LineageResult;
    const superseded = members.filter((r) => r !== current && !r.retired);
    return structuredClone({ current, superseded });
  }

  async viewLineage(lineage: string, jobId: string): Promise<LineageView> {
    const current = this.lineageMembers(lineage).pop();
    if (!current) return { currentIsNewer: false };
    const newer = (this.order.get(current.jobId) ?? -1) > (this.order.get(jobId) ?? -1);
    return { current: structuredClone(current), currentIsNewer: newer };
  }

  async markRetired(jobId: string): Promise<void> {
    const r = this.lineageResults.get(jobId);
    if (r) r.retired = true;
  }

  /** The lineage's recorded results in job creation order. */
  private lineageMembers(lineage: string): LineageResult[] {
    return [...this.lineageResults.values()]
      .filter((r) => r.lineage === lineage)
      .sort((a, b) => (this.order.get(a.jobId) ?? 0) - (this.order.get(b.jobId) ?? 0));
  }

  async getCursor(name: string): Promise<string | undefined> {
    return this.cursors.get(name);
  }

  async setCursor(name: string, value: string): Promise<void> {
    this.cursors.set(name, value);
  }

  async close(): Promise<void> {}
}
