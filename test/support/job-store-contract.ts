import type { JobSpec } from '../../src/domain/job';
import type { JobStore } from '../../src/ports/job-store';

export function spec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    idempotencyKey: 'key-1',
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.4',
    instanceUids: ['1.2.3.4.2', '1.2.3.4.1'],
    modelId: 'm',
    modelVersion: '1.0.0',
    modelDigest: 'abc',
    source: 'test',
    ...overrides,
  };
}

/** The behaviour every JobStore implementation must have; run against each adapter. */
export function jobStoreContract(name: string, make: () => Promise<JobStore> | JobStore): void {
  describe(`${name} (JobStore contract)`, () => {
    let store: JobStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('when the same spec is enqueued twice, then one job exists and the second call reports created=false', async () => {
      const a = await store.enqueue(spec());
      const b = await store.enqueue(spec());
      expect(a.created).toBe(true);
      expect(b.created).toBe(false);
      expect(b.job.id).toBe(a.job.id);
      expect(await store.list()).toHaveLength(1);
      expect(a.job.instanceUids).toEqual(['1.2.3.4.1', '1.2.3.4.2']);
    });

    it('when a job is claimed, then it is running with one attempt and is not claimed again', async () => {
      await store.enqueue(spec());
      const job = await store.claimNext(new Date());
      expect(job?.state).toBe('running');
      expect(job?.attempts).toBe(1);
      expect(await store.claimNext(new Date())).toBeUndefined();
    });

    it('when jobs are queued, then they are claimed oldest first', async () => {
      await store.enqueue(spec({ idempotencyKey: 'a' }));
      await new Promise((r) => setTimeout(r, 5));
      await store.enqueue(spec({ idempotencyKey: 'b' }));
      expect((await store.claimNext(new Date()))?.idempotencyKey).toBe('a');
      expect((await store.claimNext(new Date()))?.idempotencyKey).toBe('b');
    });

    it('when a job is retried later, then it is not claimable before notBefore and is after', async () => {
      const { job } = await store.enqueue(spec());
      await store.claimNext(new Date());
      const later = new Date(Date.now() + 60_000);
      await store.retryLater(job.id, { code: 'PACS_UNAVAILABLE', message: 'down', retryable: true }, later);
      expect(await store.claimNext(new Date())).toBeUndefined();
      const again = await store.claimNext(new Date(later.getTime() + 1));
      expect(again?.attempts).toBe(2);
      expect(again?.lastError?.code).toBe('PACS_UNAVAILABLE');
    });

    it('when a job succeeds or fails, then state, result and error are recorded', async () => {
      const { job: a } = await store.enqueue(spec({ idempotencyKey: 'a' }));
      const { job: b } = await store.enqueue(spec({ idempotencyKey: 'b' }));
      await store.claimNext(new Date());
      await store.claimNext(new Date());
      await store.recordStage(a.id, 'write-fhir');
      await store.succeed(a.id, { segSopInstanceUid: '2.25.1', reportId: 'r1' });
      await store.fail(b.id, { code: 'BAD_DICOM', message: 'truncated', retryable: false });
      expect(await store.get(a.id)).toMatchObject({ state: 'succeeded', stage: 'write-fhir', result: { reportId: 'r1' } });
      expect(await store.get(b.id)).toMatchObject({ state: 'failed', lastError: { code: 'BAD_DICOM' } });
      expect((await store.list({ state: 'failed' })).map((j) => j.id)).toEqual([b.id]);
    });

    it('when the process died with jobs running, then requeueInterrupted puts them back to queued', async () => {
      await store.enqueue(spec());
      await store.claimNext(new Date());
      expect(await store.requeueInterrupted()).toBe(1);
      expect((await store.claimNext(new Date()))?.attempts).toBe(2);
    });

    it('when a cursor is set twice, then the last value is read back', async () => {
      expect(await store.getCursor('orthanc')).toBeUndefined();
      await store.setCursor('orthanc', '5');
      await store.setCursor('orthanc', '9');
      expect(await store.getCursor('orthanc')).toBe('9');
    });
  });
}
