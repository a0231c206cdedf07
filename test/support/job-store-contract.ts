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
      expect(job?.interruptions).toBe(0);
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

    it('when the process died with jobs running, then requeueInterrupted puts them back to queued without spending an attempt', async () => {
      await store.enqueue(spec());
      await store.claimNext(new Date());
      expect(await store.requeueInterrupted({ maxInterruptions: 5 })).toEqual({ requeued: 1, parked: [] });
      const again = await store.claimNext(new Date());
      expect(again).toMatchObject({ attempts: 1, interruptions: 1 });
    });

    it('when a job was interrupted maxInterruptions times, then it is parked as failed, not retryable, and others are requeued', async () => {
      const { job } = await store.enqueue(spec({ idempotencyKey: 'crashes' }));
      for (let i = 1; i <= 2; i++) {
        await store.claimNext(new Date());
        expect((await store.requeueInterrupted({ maxInterruptions: 3 })).requeued).toBe(1);
      }
      await store.claimNext(new Date());
      await store.enqueue(spec({ idempotencyKey: 'other' }));
      await store.claimNext(new Date());
      const outcome = await store.requeueInterrupted({ maxInterruptions: 3 });
      expect(outcome.requeued).toBe(1);
      expect(outcome.parked.map((j) => j.id)).toEqual([job.id]);
      expect(await store.get(job.id)).toMatchObject({ state: 'failed', interruptions: 3, attempts: 0, lastError: { code: 'INTERRUPTED', retryable: false } });
    });

    describe('outage waits', () => {
      const outage = { code: 'PACS_UNAVAILABLE', message: 'down', retryable: true };

      it('when a run meets an outage, then the job waits for that dependency with its attempt given back', async () => {
        const { job } = await store.enqueue(spec());
        await store.claimNext(new Date());
        const t0 = new Date('2026-01-01T00:00:00Z');
        const waiting = await store.waitForDependency(job.id, 'pacs', outage, t0);
        expect(waiting).toMatchObject({ state: 'waiting', attempts: 0, waitingFor: 'pacs', waitingSince: t0.toISOString(), lastError: outage });
        expect(await store.claimNext(new Date(), { unavailable: ['pacs'] })).toBeUndefined();
        expect((await store.claimNext(new Date(), { unavailable: ['fhir'] }))?.id).toBe(job.id);
      });

      it('when a job waits again for the same dependency, then its wait keeps its start; another dependency starts a new wait', async () => {
        const { job } = await store.enqueue(spec());
        const t0 = new Date('2026-01-01T00:00:00Z');
        const t1 = new Date('2026-01-01T01:00:00Z');
        await store.claimNext(new Date());
        await store.waitForDependency(job.id, 'pacs', outage, t0);
        await store.claimNext(new Date());
        expect((await store.waitForDependency(job.id, 'pacs', outage, t1))?.waitingSince).toBe(t0.toISOString());
        await store.claimNext(new Date());
        expect((await store.waitForDependency(job.id, 'fhir', { ...outage, code: 'FHIR_UNAVAILABLE' }, t1))?.waitingSince).toBe(t1.toISOString());
        expect((await store.get(job.id))?.attempts).toBe(0);
      });

      it('when waits began before the cutoff, then expireWaits fails exactly those with the reason given', async () => {
        const { job: old } = await store.enqueue(spec({ idempotencyKey: 'old' }));
        const { job: recent } = await store.enqueue(spec({ idempotencyKey: 'recent' }));
        await store.claimNext(new Date());
        await store.claimNext(new Date());
        await store.waitForDependency(old.id, 'pacs', outage, new Date('2026-01-01T00:00:00Z'));
        await store.waitForDependency(recent.id, 'pacs', outage, new Date('2026-01-09T00:00:00Z'));
        const expired = await store.expireWaits(new Date('2026-01-08T00:00:00Z'), (j) => ({ code: 'PACS_UNAVAILABLE', message: `gave up ${j.waitingFor}`, retryable: true }));
        expect(expired.map((j) => j.id)).toEqual([old.id]);
        expect(await store.get(old.id)).toMatchObject({ state: 'failed', lastError: { message: 'gave up pacs' } });
        expect((await store.get(recent.id))?.state).toBe('waiting');
      });
    });

    it('when a job is postponed, then it is queued not before the given time and its attempt is given back', async () => {
      const { job } = await store.enqueue(spec());
      await store.claimNext(new Date());
      const later = new Date(Date.now() + 60_000);
      await store.postpone(job.id, { code: 'STUDY_CHANGING', message: 'the study changed', retryable: true }, later);
      expect(await store.claimNext(new Date())).toBeUndefined();
      expect(await store.claimNext(new Date(later.getTime() + 1))).toMatchObject({ id: job.id, attempts: 1, lastError: { code: 'STUDY_CHANGING' } });
    });

    describe('operator retry', () => {
      it('when failed jobs are retried, then they are queued with a fresh attempt budget; other states are left alone', async () => {
        const { job: a } = await store.enqueue(spec({ idempotencyKey: 'a' }));
        const { job: b } = await store.enqueue(spec({ idempotencyKey: 'b' }));
        const { job: c } = await store.enqueue(spec({ idempotencyKey: 'c' }));
        for (let i = 0; i < 3; i++) await store.claimNext(new Date());
        await store.fail(a.id, { code: 'PACS_UNAVAILABLE', message: 'gave up', retryable: true });
        await store.fail(b.id, { code: 'BAD_DICOM', message: 'truncated', retryable: false });
        await store.succeed(c.id, { summary: 'ok' });
        const retried = await store.retry({});
        expect(retried.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
        expect(await store.get(a.id)).toMatchObject({ state: 'queued', attempts: 0, interruptions: 0, lastError: { code: 'PACS_UNAVAILABLE' } });
        expect((await store.get(c.id))?.state).toBe('succeeded');
        expect((await store.claimNext(new Date()))?.attempts).toBe(1);
      });

      it('when a retry names a code, ids or a time range, then only matching failed jobs are retried', async () => {
        const ids: string[] = [];
        for (const [key, code] of [['a', 'PACS_UNAVAILABLE'], ['b', 'BAD_DICOM'], ['c', 'PACS_UNAVAILABLE']] as const) {
          const { job } = await store.enqueue(spec({ idempotencyKey: key }));
          await store.claimNext(new Date());
          await store.fail(job.id, { code, message: key, retryable: code === 'PACS_UNAVAILABLE' });
          ids.push(job.id);
          await new Promise((r) => setTimeout(r, 5));
        }
        const [a, b, c] = ids as [string, string, string];
        expect((await store.list({ state: 'failed', code: 'PACS_UNAVAILABLE' })).map((j) => j.id)).toEqual([c, a]);
        const cAt = (await store.get(c))?.updatedAt as string;
        expect((await store.retry({ code: 'PACS_UNAVAILABLE', until: cAt })).map((j) => j.id)).toEqual([a]);
        expect((await store.retry({ ids: [b] })).map((j) => j.id)).toEqual([b]);
        expect((await store.retry({ since: cAt })).map((j) => j.id)).toEqual([c]);
        expect(await store.retry({})).toEqual([]);
      });
    });

    it('when jobs are in several states, then countByState counts each, zero included', async () => {
      await store.enqueue(spec({ idempotencyKey: 'a' }));
      await store.enqueue(spec({ idempotencyKey: 'b' }));
      await store.claimNext(new Date());
      expect(await store.countByState()).toEqual({ queued: 1, waiting: 0, running: 1, succeeded: 0, failed: 0 });
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
