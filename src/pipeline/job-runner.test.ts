import { MemoryJobCheckpoints } from '../../adapters/memory/memory-job-checkpoints';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { AppError } from '../domain/errors';
import type { JobResult } from '../domain/job';
import type { LoadedModel } from '../domain/manifest';
import { silentLogger } from '../logging';
import type { ImagingSource } from '../ports/imaging-source';
import { Breakers, DependencyBreaker } from '../resilience/dependency-breaker';
import { guardSource } from '../resilience/guarded-ports';
import { spec } from '../../test/support/job-store-contract';
import { checkpoint } from '../../test/support/job-checkpoints-contract';
import type { JobContext, PipelineDeps } from './context';
import { JobRunner } from './job-runner';

/**
 * The runner's sorting of failures, with a scripted pipeline (the real one is tested end to end in
 * test/e2e/outages.test.ts): a PACS that is really down (its ping fails too) costs no attempt, a PACS that answers
 * while one job keeps failing does.
 */
describe('R10.1 R10.2 JobRunner failure handling', () => {
  const model = { manifest: { id: 'm' }, digest: 'abc' } as unknown as LoadedModel;
  let pacsUp: boolean;
  let calls: number;
  /** A scripted stand-in for the PACS (named as such): fails like an unreachable Orthanc while pacsUp is false. */
  const pacs: ImagingSource = {
    getStudy: async () => Promise.reject(new Error('not used')),
    retrieveInstances: async () => {
      calls++;
      if (!pacsUp) throw new AppError('PACS_UNAVAILABLE', 'Orthanc not reachable (ECONNREFUSED)');
      return [];
    },
    ping: async () => {
      if (!pacsUp) throw new AppError('PACS_UNAVAILABLE', 'Orthanc not reachable (ECONNREFUSED)');
    },
  };

  function setup(options: { maxOutageMs?: number; pipelineError?: () => AppError | undefined } = {}) {
    const jobs = new MemoryJobStore();
    const checkpoints = new MemoryJobCheckpoints();
    const breaker = new DependencyBreaker({ dependency: 'pacs', probe: () => pacs.ping(), probeInitialMs: 20, probeMaxMs: 40, probeTimeoutMs: 1000, logger: silentLogger });
    const breakers = new Breakers([breaker]);
    const source = guardSource(pacs, breaker);
    const deps = { jobs, checkpoints, source, models: new Map([['m', model]]), logger: silentLogger } as unknown as PipelineDeps;
    const run = async (ctx: JobContext): Promise<JobResult> => {
      await ctx.deps.source.retrieveInstances('1', '2', ['3']);
      const err = options.pipelineError?.();
      if (err) throw err;
      return { summary: 'ok' };
    };
    const runner = new JobRunner(deps, { concurrency: 1, maxAttempts: 3, backoffInitialMs: 0, backoffMaxMs: 0, pollIntervalMs: 10, ...(options.maxOutageMs !== undefined ? { maxOutageMs: options.maxOutageMs } : {}) }, breakers, run);
    return { jobs, checkpoints, breaker, runner };
  }

  beforeEach(() => {
    pacsUp = true;
    calls = 0;
  });

  it('when the PACS is down, then jobs wait without spending attempts, fail fast while it stays down, and all run once it answers', async () => {
    const { jobs, breaker, runner } = setup();
    const a = (await jobs.enqueue(spec({ idempotencyKey: 'a' }))).job;
    const b = (await jobs.enqueue(spec({ idempotencyKey: 'b' }))).job;
    pacsUp = false;
    await runner.execute((await jobs.claimNext(new Date())) as never);
    expect(await jobs.get(a.id)).toMatchObject({ state: 'waiting', attempts: 0, waitingFor: 'pacs', lastError: { code: 'PACS_UNAVAILABLE' } });
    expect(breaker.isOpen()).toBe(true);
    // Job b was never tried: it meets the open breaker without a network call.
    const callsBefore = calls;
    await runner.execute((await jobs.claimNext(new Date(), { unavailable: ['pacs'] })) as never);
    expect(calls).toBe(callsBefore);
    expect(await jobs.get(b.id)).toMatchObject({ state: 'waiting', attempts: 0 });
    expect(await jobs.claimNext(new Date(), { unavailable: ['pacs'] })).toBeUndefined();

    runner.start();
    await new Promise((r) => setTimeout(r, 200));
    expect((await jobs.get(a.id))?.state).toBe('waiting');
    pacsUp = true;
    const t0 = Date.now();
    while (((await jobs.list({ state: 'succeeded' })).length < 2) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    await runner.stop();
    breaker.stop();
    expect(await jobs.get(a.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(await jobs.get(b.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('when the PACS answers its health check but one job keeps getting PACS_UNAVAILABLE, then that job spends its attempts and fails', async () => {
    const { jobs, breaker, runner } = setup({ pipelineError: () => new AppError('PACS_UNAVAILABLE', 'Orthanc answered HTTP 500 for /instances/{id}') });
    const { job } = await jobs.enqueue(spec());
    for (let i = 0; i < 3; i++) await runner.execute((await jobs.claimNext(new Date())) as never);
    expect(breaker.isOpen()).toBe(false);
    expect(await jobs.get(job.id)).toMatchObject({ state: 'failed', attempts: 3, lastError: { code: 'PACS_UNAVAILABLE', retryable: true } });
  });

  it('when a job has waited longer than the outage limit, then it fails with a retryable reason that says how to re-run it', async () => {
    const { jobs, breaker, runner } = setup({ maxOutageMs: 50 });
    const { job } = await jobs.enqueue(spec());
    pacsUp = false;
    await runner.execute((await jobs.claimNext(new Date())) as never);
    await new Promise((r) => setTimeout(r, 80));
    runner.start(); // the start-up check expires old waits
    await new Promise((r) => setTimeout(r, 30));
    await runner.stop();
    breaker.stop();
    expect(await jobs.get(job.id)).toMatchObject({ state: 'failed', lastError: { code: 'PACS_UNAVAILABLE', retryable: true, message: expect.stringContaining('jobs retry') } });
  });

  it('when the study changed after routing, then the job is postponed with its attempt given back and its checkpoint kept', async () => {
    const until = Date.now() + 30_000;
    const { jobs, checkpoints, breaker, runner } = setup({ pipelineError: () => new AppError('STUDY_CHANGING', 'the study changed', { retryable: true, details: { postponeUntil: until } }) });
    const { job } = await jobs.enqueue(spec());
    await checkpoints.save(job.id, checkpoint({ idempotencyKey: job.idempotencyKey }));
    await runner.execute((await jobs.claimNext(new Date())) as never);
    breaker.stop();
    expect(await jobs.get(job.id)).toMatchObject({ state: 'queued', attempts: 0, notBefore: new Date(until).toISOString(), lastError: { code: 'STUDY_CHANGING' } });
    expect(await checkpoints.load(job.id, job.idempotencyKey)).toBeDefined();
  });

  it('when a job fails for good, then its checkpoint is removed; while it waits, it is kept', async () => {
    const { jobs, checkpoints, breaker, runner } = setup({ pipelineError: () => new AppError('BAD_DICOM', 'truncated') });
    const { job } = await jobs.enqueue(spec());
    await checkpoints.save(job.id, checkpoint({ idempotencyKey: job.idempotencyKey }));
    pacsUp = false;
    await runner.execute((await jobs.claimNext(new Date())) as never);
    expect(await checkpoints.load(job.id, job.idempotencyKey)).toBeDefined();
    pacsUp = true;
    await new Promise((r) => setTimeout(r, 60));
    expect(breaker.isOpen()).toBe(false);
    await runner.execute((await jobs.claimNext(new Date())) as never);
    breaker.stop();
    expect(await jobs.get(job.id)).toMatchObject({ state: 'failed', lastError: { code: 'BAD_DICOM' } });
    expect(await checkpoints.load(job.id, job.idempotencyKey)).toBeUndefined();
  });
});
