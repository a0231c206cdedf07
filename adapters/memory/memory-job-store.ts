import { randomUUID } from 'node:crypto';
import { interruptedError, JOB_STATES, type Dependency, type Job, type JobResult, type JobSpec, type JobState, type Stage } from '../../src/domain/job';
import type { LineageOutputs, LineageResult, LineageSettlement, LineageView } from '../../src/domain/lineage';
import type { ClaimOptions, InterruptedOutcome, JobError, JobFilter, JobStore } from '../../src/ports/job-store';

/** The filter semantics of JobStore.list/retry, shared with nothing else: the SQLite adapter says the same in SQL. */
function matches(job: Job, filter: JobFilter): boolean {
  if (filter.state && job.state !== filter.state) return false;
  if (filter.studyInstanceUid && job.studyInstanceUid !== filter.studyInstanceUid) return false;
  if (filter.code && job.lastError?.code !== filter.code) return false;
  if (filter.ids && !filter.ids.includes(job.id)) return false;
  if (filter.since && job.updatedAt < filter.since) return false;
  if (filter.until && job.updatedAt >= filter.until) return false;
  return true;
}

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
      interruptions: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (spec.sourceRef !== undefined) job.sourceRef = spec.sourceRef;
    this.jobs.set(job.id, job);
    this.byKey.set(job.idempotencyKey, job.id);
    this.order.set(job.id, this.seq++);
    return { job: structuredClone(job), created: true };
  }

  async claimNext(now: Date, options: ClaimOptions = {}): Promise<Job | undefined> {
    const iso = now.toISOString();
    const down = new Set(options.unavailable ?? []);
    const next = [...this.jobs.values()]
      .filter(
        (j) =>
          (j.state === 'queued' && (!j.notBefore || j.notBefore <= iso)) ||
          (j.state === 'waiting' && !(j.waitingFor !== undefined && down.has(j.waitingFor))),
      )
      .sort((a, b) => (this.order.get(a.id) ?? 0) - (this.order.get(b.id) ?? 0))[0];
    if (!next) return undefined;
    this.update(next.id, { state: 'running', attempts: next.attempts + 1 });
    return structuredClone(this.jobs.get(next.id));
  }

  async recordStage(jobId: string, stage: Stage): Promise<void> {
    this.update(jobId, { stage });
  }

  async succeed(jobId: string, result: JobResult): Promise<void> {
    this.update(jobId, { state: 'succeeded', result }, ['lastError', 'notBefore', 'waitingFor', 'waitingSince']);
  }

  async retryLater(jobId: string, error: JobError, notBefore: Date): Promise<void> {
    this.update(jobId, { state: 'queued', lastError: error, notBefore: notBefore.toISOString() }, ['waitingFor', 'waitingSince']);
  }

  async waitForDependency(jobId: string, dependency: Dependency, error: JobError, now: Date): Promise<Job | undefined> {
    const job = this.jobs.get(jobId);
    if (!job) return undefined;
    const since = job.waitingFor === dependency && job.waitingSince ? job.waitingSince : now.toISOString();
    this.update(jobId, { state: 'waiting', attempts: Math.max(0, job.attempts - 1), lastError: error, waitingFor: dependency, waitingSince: since }, ['notBefore']);
    return this.get(jobId);
  }

  async postpone(jobId: string, reason: JobError, notBefore: Date): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.update(jobId, { state: 'queued', attempts: Math.max(0, job.attempts - 1), lastError: reason, notBefore: notBefore.toISOString() }, ['waitingFor', 'waitingSince']);
  }

  async fail(jobId: string, error: JobError): Promise<void> {
    this.update(jobId, { state: 'failed', lastError: error }, ['notBefore', 'waitingFor', 'waitingSince']);
  }

  async requeueInterrupted(options: { maxInterruptions: number }): Promise<InterruptedOutcome> {
    const outcome: InterruptedOutcome = { requeued: 0, parked: [] };
    for (const job of [...this.jobs.values()]) {
      if (job.state !== 'running') continue;
      const interruptions = job.interruptions + 1;
      const attempts = Math.max(0, job.attempts - 1);
      if (interruptions >= options.maxInterruptions) {
        this.update(job.id, { state: 'failed', attempts, interruptions, lastError: interruptedError(interruptions) }, ['notBefore', 'waitingFor', 'waitingSince']);
        outcome.parked.push(structuredClone(this.jobs.get(job.id) as Job));
      } else {
        this.update(job.id, { state: 'queued', attempts, interruptions }, ['notBefore']);
        outcome.requeued++;
      }
    }
    return outcome;
  }

  async retry(filter: Omit<JobFilter, 'state' | 'limit'>): Promise<Job[]> {
    const chosen = [...this.jobs.values()].filter((j) => matches(j, { ...filter, state: 'failed' }));
    for (const job of chosen) {
      this.update(job.id, { state: 'queued', attempts: 0, interruptions: 0 }, ['notBefore', 'waitingFor', 'waitingSince', 'result']);
    }
    return chosen.map((j) => structuredClone(this.jobs.get(j.id) as Job));
  }

  async expireWaits(before: Date, reason: (job: Job) => JobError): Promise<Job[]> {
    const iso = before.toISOString();
    const expired = [...this.jobs.values()].filter((j) => j.state === 'waiting' && j.waitingSince !== undefined && j.waitingSince < iso);
    for (const job of expired) this.update(job.id, { state: 'failed', lastError: reason(job) }, ['notBefore']);
    return expired.map((j) => structuredClone(this.jobs.get(j.id) as Job));
  }

  async countByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const job of this.jobs.values()) counts[job.state] += 1;
    return counts;
  }

  async get(jobId: string): Promise<Job | undefined> {
    const job = this.jobs.get(jobId);
    return job ? structuredClone(job) : undefined;
  }

  async findByKey(idempotencyKey: string): Promise<Job | undefined> {
    const id = this.byKey.get(idempotencyKey);
    return id ? this.get(id) : undefined;
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    return [...this.jobs.values()]
      .filter((j) => matches(j, filter))
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
