import { MemoryJobStore } from '../../../adapters/memory/memory-job-store';
import type { Job } from '../../domain/job';
import { silentLogger } from '../../logging';
import type { JobContext, PipelineDeps } from '../context';
import { jobLineage, planOutputs, supersedePrevious } from './supersede-previous';

/** The lineage decisions with the in-memory job store and no outside systems (fhir: none, a store that cannot delete). */
describe('planOutputs / supersedePrevious (lineage logic)', () => {
  let jobs: MemoryJobStore;
  const ctxOf = (job: Job): JobContext => ({
    job,
    deps: { jobs, fhir: null, store: { store: async () => ({ stored: [] }), ping: async () => {} }, logger: silentLogger } as unknown as PipelineDeps,
    log: silentLogger,
    model: {} as JobContext['model'],
    enter: async () => {},
  });
  const job = async (key: string): Promise<Job> =>
    (
      await jobs.enqueue({ idempotencyKey: key, studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', instanceUids: [key], modelId: 'm', modelVersion: '1', modelDigest: 'd', source: 'test' })
    ).job;

  beforeEach(() => {
    jobs = new MemoryJobStore();
  });

  it('when no job of the lineage has results yet, then the job writes and links nothing', async () => {
    expect(await planOutputs(ctxOf(await job('a')))).toEqual({ kind: 'write' });
  });

  it('when an older job is current, then the job writes and links its report', async () => {
    const a = await job('a');
    const b = await job('b');
    await jobs.settleLineage(jobLineage(ctxOf(a)), a.id, { reportId: 'r-a' });
    expect(await planOutputs(ctxOf(b))).toEqual({ kind: 'write', replaces: 'DiagnosticReport/r-a' });
  });

  it('when a newer job is current, then a job that never wrote skips, and one whose earlier attempt reached store-seg writes to retire it', async () => {
    const a = await job('a');
    const b = await job('b');
    await jobs.settleLineage(jobLineage(ctxOf(b)), b.id, { reportId: 'r-b' });
    expect(await planOutputs(ctxOf(a))).toMatchObject({ kind: 'skip', current: { jobId: b.id } });
    expect(await planOutputs(ctxOf({ ...a, stage: 'encode' }))).toMatchObject({ kind: 'skip' });
    expect(await planOutputs(ctxOf({ ...a, stage: 'store-seg' }))).toEqual({ kind: 'write' });
  });

  it('when a newer job of the lineage is still pending, then a job that never wrote skips in its favour; other lineages do not count', async () => {
    const a = await job('a');
    const other = (await jobs.enqueue({ idempotencyKey: 'o', studyInstanceUid: '1.2', seriesInstanceUid: '9.9', instanceUids: ['o'], modelId: 'm', modelVersion: '1', modelDigest: 'd', source: 'test' })).job;
    void other;
    expect(await planOutputs(ctxOf(a))).toEqual({ kind: 'write' });
    const b = await job('b');
    expect(await planOutputs(ctxOf(a))).toMatchObject({ kind: 'skip', current: { jobId: b.id } });
    expect(await planOutputs(ctxOf({ ...a, stage: 'store-seg' }))).toEqual({ kind: 'write' });
    await jobs.claimNext(new Date());
    await jobs.claimNext(new Date());
    await jobs.claimNext(new Date());
    await jobs.fail(b.id, { code: 'BAD_DICOM', message: 'x', retryable: false });
    expect(await planOutputs(ctxOf(a))).toEqual({ kind: 'write' });
  });

  it('when the job itself is current (a re-run after settle), then it writes without linking itself', async () => {
    const a = await job('a');
    await jobs.settleLineage(jobLineage(ctxOf(a)), a.id, { reportId: 'r-a' });
    expect(await planOutputs(ctxOf(a))).toEqual({ kind: 'write' });
  });

  it('when a newer job settles, then the older is retired once and the store no longer lists it', async () => {
    const a = await job('a');
    const b = await job('b');
    expect((await supersedePrevious(ctxOf(a), { reportId: 'r-a' })).retired).toEqual([]);
    expect(await supersedePrevious(ctxOf(b), { reportId: 'r-b' })).toMatchObject({ current: { jobId: b.id }, retired: [a.id] });
    expect((await supersedePrevious(ctxOf(b), { reportId: 'r-b' })).retired).toEqual([]);
  });
});
