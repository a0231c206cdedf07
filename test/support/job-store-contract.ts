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

    describe('result lineage', () => {
      const L = 'lineage-1';
      const enqueueTwo = async (): Promise<[string, string]> => {
        const { job: older } = await store.enqueue(spec({ idempotencyKey: 'older' }));
        const { job: newer } = await store.enqueue(spec({ idempotencyKey: 'newer' }));
        return [older.id, newer.id];
      };

      it('when the first job of a lineage settles, then it is current and nothing is superseded', async () => {
        const [older] = await enqueueTwo();
        expect(await store.viewLineage(L, older)).toEqual({ currentIsNewer: false });
        const s = await store.settleLineage(L, older, { reportId: 'r1', segSopInstanceUid: '2.25.1' });
        expect(s.current).toEqual({ lineage: L, jobId: older, outputs: { reportId: 'r1', segSopInstanceUid: '2.25.1' }, retired: false });
        expect(s.superseded).toEqual([]);
      });

      it('when a newer job settles after an older one, then the newer is current and the older is listed until retired', async () => {
        const [older, newer] = await enqueueTwo();
        await store.settleLineage(L, older, { reportId: 'r1' });
        const s = await store.settleLineage(L, newer, { reportId: 'r2' });
        expect(s.current.jobId).toBe(newer);
        expect(s.superseded.map((r) => [r.jobId, r.outputs.reportId])).toEqual([[older, 'r1']]);
        // A crash before markRetired: settling again lists the older one again, so the retire is repeated.
        expect((await store.settleLineage(L, newer, { reportId: 'r2' })).superseded.map((r) => r.jobId)).toEqual([older]);
        await store.markRetired(older);
        expect((await store.settleLineage(L, newer, { reportId: 'r2' })).superseded).toEqual([]);
      });

      it('when an older job settles after a newer one, then the newer stays current and the older is the one superseded', async () => {
        const [older, newer] = await enqueueTwo();
        await store.settleLineage(L, newer, { reportId: 'r2' });
        expect(await store.viewLineage(L, older)).toMatchObject({ current: { jobId: newer }, currentIsNewer: true });
        expect(await store.viewLineage(L, newer)).toMatchObject({ current: { jobId: newer }, currentIsNewer: false });
        const s = await store.settleLineage(L, older, { reportId: 'r1' });
        expect(s.current.jobId).toBe(newer);
        expect(s.superseded.map((r) => r.jobId)).toEqual([older]);
      });

      it('when jobs of other lineages settle, then they neither become current nor get superseded here', async () => {
        const [older, newer] = await enqueueTwo();
        await store.settleLineage(L, older, {});
        const other = await store.settleLineage('lineage-2', newer, {});
        expect(other).toMatchObject({ current: { jobId: newer }, superseded: [] });
        expect((await store.viewLineage(L, newer)).current?.jobId).toBe(older);
      });

      it('when a job that does not exist settles, then the store refuses', async () => {
        await expect(store.settleLineage(L, 'no-such-job', {})).rejects.toThrow(/no job/);
      });
    });

    it('when a cursor is set twice, then the last value is read back', async () => {
      expect(await store.getCursor('orthanc')).toBeUndefined();
      await store.setCursor('orthanc', '5');
      await store.setCursor('orthanc', '9');
      expect(await store.getCursor('orthanc')).toBe('9');
    });
  });
}
