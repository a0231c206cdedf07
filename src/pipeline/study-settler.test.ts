import { MemorySettlingStore } from '../../adapters/memory/memory-settling-store';
import { AppError } from '../domain/errors';
import type { StudyEvent, StudyInfo } from '../domain/study';
import { silentLogger } from '../logging';
import type { ImagingSource } from '../ports/imaging-source';
import { StudySettler } from './study-settler';

/** The settler over the in-memory settling store and a scripted source (a stand-in for the PACS, named as such). */
describe('R10.4 StudySettler', () => {
  let instances: number;
  let sourceError: AppError | undefined;
  let now: number;
  const routed: { event: StudyEvent; instances: number }[] = [];
  const study = (): StudyInfo => ({
    studyInstanceUid: '1.2',
    series: [{ seriesInstanceUid: '1.2.3', modality: 'MR', instances: Array.from({ length: instances }, (_, i) => ({ sopInstanceUid: `1.2.3.${i}`, sopClassUid: 'x' })) }],
  });
  const source: ImagingSource = {
    getStudy: async () => {
      if (sourceError) throw sourceError;
      return study();
    },
    retrieveInstances: async () => [],
    ping: async () => {},
  };
  const event = (extra: Partial<StudyEvent> = {}): StudyEvent => ({ studyInstanceUid: '1.2', source: 'orthanc', receivedAt: 't', ...extra });
  let store: MemorySettlingStore;
  let settler: StudySettler;

  beforeEach(() => {
    instances = 3;
    sourceError = undefined;
    now = 1_000_000;
    routed.length = 0;
    store = new MemorySettlingStore();
    settler = new StudySettler({
      policy: { quietMs: 10_000, gapFactor: 2, windowMs: 600_000 },
      checkIntervalMs: 1000,
      store,
      source,
      route: async (e, s) => void routed.push({ event: e, instances: s.series[0]?.instances.length ?? 0 }),
      logger: silentLogger,
      now: () => now,
    });
  });

  it('when a study is accepted, then it is routed only once a look after its quiet time finds it unchanged', async () => {
    await settler.accept(event());
    await settler.tick();
    expect(routed).toEqual([]);
    now += 10_000;
    await settler.tick();
    expect(routed.map((r) => r.instances)).toEqual([3]);
    expect((await store.get('1.2'))?.status).toBe('routed');
  });

  it('when the study grew by the due time, then it waits again for the adapted quiet time and is routed whole', async () => {
    await settler.accept(event());
    now += 10_000;
    instances = 4;
    await settler.tick();
    expect(routed).toEqual([]);
    expect(await store.get('1.2')).toMatchObject({ status: 'settling', largestGapMs: 10_000, dueAt: now + 20_000 });
    now += 20_000;
    await settler.tick();
    expect(routed.map((r) => r.instances)).toEqual([4]);
  });

  it('when a routed study changes again, then its earlier jobs are told to hold their outputs until it settles', async () => {
    await settler.accept(event());
    now += 10_000;
    await settler.tick();
    expect(await settler.changingSinceRouting('1.2')).toBeUndefined();
    now += 5_000;
    instances = 5;
    await settler.accept(event());
    const hold = await settler.changingSinceRouting('1.2');
    expect(hold?.until).toBe(now + 30_000);
    now += 30_000;
    await settler.tick();
    expect(routed.map((r) => r.instances)).toEqual([3, 5]);
    expect(await settler.changingSinceRouting('1.2')).toBeUndefined();
  });

  it('when the intake says instances failed, then the study is held with the reason and listed as pending', async () => {
    await settler.accept(event({ source: 'stow', incomplete: '38 instances were not stored' }));
    now += 60_000;
    await settler.tick();
    expect(routed).toEqual([]);
    expect((await settler.held()).map((r) => r.heldReason)).toEqual(['38 instances were not stored']);
    await settler.accept(event({ source: 'stow' }));
    now += 10_000;
    await settler.tick();
    expect(routed).toHaveLength(1);
  });

  it('when the source is unavailable at the due time, then the study is kept and looked at again; when it is gone, forgotten', async () => {
    await settler.accept(event());
    now += 10_000;
    sourceError = new AppError('PACS_UNAVAILABLE', 'down');
    await settler.tick();
    expect(await store.get('1.2')).toMatchObject({ status: 'settling', dueAt: now + 10_000 });
    now += 10_000;
    sourceError = new AppError('NOT_FOUND', 'deleted');
    await settler.tick();
    expect(await store.get('1.2')).toBeUndefined();
    expect(routed).toEqual([]);
  });

  it('when routing fails, then the study stays recorded and is routed at a later look', async () => {
    let fail = true;
    const s = new StudySettler({
      policy: { quietMs: 0, gapFactor: 2, windowMs: 600_000 },
      checkIntervalMs: 1000,
      store,
      source,
      route: async () => {
        if (fail) throw new Error('job store busy');
        routed.push({ event: event(), instances });
      },
      logger: silentLogger,
      now: () => now,
    });
    await s.accept(event());
    await s.tick();
    expect((await store.get('1.2'))?.status).toBe('settling');
    fail = false;
    await s.tick();
    expect(routed).toHaveLength(1);
  });
});
