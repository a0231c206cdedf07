import type { SettlingRecord } from '../../src/domain/settling';
import type { SettlingStore } from '../../src/ports/settling-store';

const record = (uid: string, dueAt: number, status: SettlingRecord['status'] = 'settling'): SettlingRecord => ({
  studyInstanceUid: uid,
  status,
  event: { studyInstanceUid: uid, source: 'orthanc', receivedAt: 't' },
  firstSeenAt: 0,
  lastChangeAt: 0,
  fingerprint: 'f',
  instanceCount: 1,
  largestGapMs: 0,
  dueAt,
});

/** The behaviour every SettlingStore implementation must have; run against each adapter. */
export function settlingStoreContract(name: string, make: () => SettlingStore): void {
  describe(`${name} (SettlingStore contract)`, () => {
    it('when a record is put twice, then the last one is read back', async () => {
      const store = make();
      await store.put(record('1', 5));
      await store.put({ ...record('1', 9), instanceCount: 7 });
      expect(await store.get('1')).toEqual({ ...record('1', 9), instanceCount: 7 });
      expect(await store.get('2')).toBeUndefined();
    });

    it('when records are due, then due() gives those at or before now, earliest first, up to the limit', async () => {
      const store = make();
      await store.put(record('late', 30));
      await store.put(record('b', 20));
      await store.put(record('a', 10));
      expect((await store.due(20, 10)).map((r) => r.studyInstanceUid)).toEqual(['a', 'b']);
      expect((await store.due(20, 1)).map((r) => r.studyInstanceUid)).toEqual(['a']);
    });

    it('when listed by status, then only that status comes back; removed records are gone', async () => {
      const store = make();
      await store.put(record('h', 1, 'held'));
      await store.put(record('s', 2));
      expect((await store.list({ status: 'held' })).map((r) => r.studyInstanceUid)).toEqual(['h']);
      expect((await store.list()).map((r) => r.studyInstanceUid)).toEqual(['h', 's']);
      await store.remove('h');
      expect(await store.get('h')).toBeUndefined();
    });
  });
}
