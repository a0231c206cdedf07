import type { JobCheckpoint, JobCheckpoints } from '../../src/ports/job-checkpoints';

export function checkpoint(overrides: Partial<JobCheckpoint> = {}): JobCheckpoint {
  return {
    idempotencyKey: 'key-1',
    study: { studyInstanceUid: '1.2.3', patientName: 'Test^Patient', series: [] },
    findings: { kind: 'classification', classes: [{ label: 'axial', code: { value: '1', scheme: 'DCM', meaning: 'x' }, probability: 0.9, threshold: 0.5, present: true }] },
    ...overrides,
  };
}

/** The behaviour every JobCheckpoints implementation must have; run against each adapter. */
export function jobCheckpointsContract(name: string, make: (maxSegBytes: number) => Promise<JobCheckpoints> | JobCheckpoints): void {
  describe(`${name} (JobCheckpoints contract)`, () => {
    const seg = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

    it('when a checkpoint is saved with a SEG, then it loads back for the same key with the same bytes', async () => {
      const store = await make(1024);
      const { createHash } = await import('node:crypto');
      const digest = createHash('sha256').update(seg).digest('hex');
      expect(await store.save('job-1', checkpoint({ seg: { sha256: digest, bytes: seg.length } }), seg)).toBe(true);
      const loaded = await store.load('job-1', 'key-1');
      expect(loaded?.checkpoint).toEqual(checkpoint({ seg: { sha256: digest, bytes: seg.length } }));
      expect(Array.from((await loaded?.readSeg()) ?? [])).toEqual(Array.from(seg));
      expect(await store.list()).toEqual(['job-1']);
    });

    it('when a checkpoint is loaded for another idempotency key or job, then there is none', async () => {
      const store = await make(1024);
      await store.save('job-1', checkpoint());
      expect(await store.load('job-1', 'key-2')).toBeUndefined();
      expect(await store.load('job-2', 'key-1')).toBeUndefined();
    });

    it('when a checkpoint is saved again without a SEG, then the progress changes and the earlier SEG stays', async () => {
      const store = await make(1024);
      const { createHash } = await import('node:crypto');
      const digest = createHash('sha256').update(seg).digest('hex');
      await store.save('job-1', checkpoint({ seg: { sha256: digest, bytes: seg.length } }), seg);
      await store.save('job-1', checkpoint({ seg: { sha256: digest, bytes: seg.length }, segStored: { location: 'x' } }));
      const loaded = await store.load('job-1', 'key-1');
      expect(loaded?.checkpoint.segStored).toEqual({ location: 'x' });
      expect((await loaded?.readSeg())?.length).toBe(seg.length);
    });

    it('when the recorded digest does not match the SEG bytes, then readSeg gives nothing (recompute)', async () => {
      const store = await make(1024);
      await store.save('job-1', checkpoint({ seg: { sha256: '0'.repeat(64), bytes: seg.length } }), seg);
      expect(await (await store.load('job-1', 'key-1'))?.readSeg()).toBeUndefined();
    });

    it('when the SEG is over the size bound, then nothing is kept', async () => {
      const store = await make(4);
      expect(await store.save('job-1', checkpoint({ seg: { sha256: 'x', bytes: seg.length } }), seg)).toBe(false);
      expect(await store.load('job-1', 'key-1')).toBeUndefined();
    });

    it('when a checkpoint is removed, then it is gone and removing again is harmless', async () => {
      const store = await make(1024);
      await store.save('job-1', checkpoint());
      await store.remove('job-1');
      await store.remove('job-1');
      expect(await store.load('job-1', 'key-1')).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });
  });
}
