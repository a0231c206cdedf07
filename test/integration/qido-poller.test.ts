/**
 * QIDO-RS polling against Orthanc's DICOMweb plugin (a real DICOMweb PACS): settling, durable state across a
 * restart (SQLite store), re-uploads, late instances, the StudyDate window and an unreachable PACS.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DicomWebAdapter } from '../../adapters/dicomweb';
import { QidoPoller, type QidoPollerOptions } from '../../adapters/dicomweb/qido-poller';
import { parseState } from '../../adapters/dicomweb/qido-settling';
import { MemoryCursorStore, type CursorStore } from '../../adapters/orthanc/cursor-store';
import { SqliteJobStore } from '../../adapters/sqlite/sqlite-job-store';
import type { StudyEvent } from '../../src/domain/study';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { syntheticMrSeries } from '../support/synthetic-mr';
import { rejected } from '../support/app-error';

const SETTLE_MS = 1500;
// The synthetic studies are dated 2024-01-02: the window must reach back that far.
const LOOKBACK_DAYS = Math.ceil((Date.now() - Date.UTC(2024, 0, 1)) / 86_400_000);
let orthanc: TestOrthanc;
let pacs: DicomWebAdapter;
const pollers: QidoPoller[] = [];


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function poller(stateStore: CursorStore, options: Partial<QidoPollerOptions> = {}): QidoPoller {
  const p = new QidoPoller({
    url: orthanc.dicomWebUrl,
    auth: { username: orthanc.username, password: orthanc.password },
    stateStore,
    stateName: 'qido-test',
    schedule: '* * * * * *',
    settleMs: SETTLE_MS,
    lookbackDays: LOOKBACK_DAYS,
    pageSize: 2,
    fromStart: true,
    ...options,
  });
  pollers.push(p);
  return p;
}

/** Records each event with the number of instances the PACS had for the study at that moment. */
function recorder(): { events: { uid: string; instances: number }[]; onEvent: (e: StudyEvent) => Promise<void> } {
  const events: { uid: string; instances: number }[] = [];
  return {
    events,
    onEvent: async (e) => {
      const study = await pacs.getStudy(e.studyInstanceUid);
      events.push({ uid: e.studyInstanceUid, instances: study.series.reduce((n, s) => n + s.instances.length, 0) });
    },
  };
}

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 1 });
  pacs = new DicomWebAdapter({ url: orthanc.dicomWebUrl, auth: { username: orthanc.username, password: orthanc.password } });
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await orthanc?.stop();
});

describe('QIDO poller against Orthanc DICOMweb', () => {
  const dbFile = path.join(mkdtempSync(path.join(tmpdir(), 'qido-state-')), 'jobs.db');
  const halves = syntheticMrSeries({ slices: 6 });

  it('when a study arrives in two halves, then the scheduled poller emits it once, after settling, with all instances', async () => {
    const store = new SqliteJobStore(dbFile);
    const { events, onEvent } = recorder();
    const p = poller(store);
    await p.start(onEvent);
    for (const f of halves.files.slice(0, 3)) await orthanc.upload(f);
    // Wait past the settle time measured from the first half, then send the second half: the clock starts again.
    await sleep(SETTLE_MS - 500);
    const secondHalfAt = Date.now();
    for (const f of halves.files.slice(3)) await orthanc.upload(f);
    await waitFor('the settled study', () => events.length >= 1);
    const emittedAfterMs = Date.now() - secondHalfAt;
    await sleep(1500);
    await p.stop();
    await store.close();

    expect(events).toEqual([{ uid: halves.studyInstanceUid, instances: 6 }]);
    expect(emittedAfterMs).toBeGreaterThanOrEqual(SETTLE_MS);
  });

  it('when the poller restarts on the same store, then the emitted study is not emitted again', async () => {
    const store = new SqliteJobStore(dbFile);
    const { events, onEvent } = recorder();
    const outcome = await poller(store).poll(onEvent);
    await store.close();
    expect(events).toEqual([]);
    expect(outcome).toMatchObject({ listed: 1, emitted: 0, settling: 0 });
  });

  it('when the poller restarts while a study is settling, then the new poller emits it once the settle time from the first sighting passed', async () => {
    const store = new SqliteJobStore(dbFile);
    const study = syntheticMrSeries({ slices: 2 });
    for (const f of study.files) await orthanc.upload(f);
    const firstSeenAt = Date.now();
    const before = recorder();
    await poller(store).poll(before.onEvent);
    await store.close();

    const reopened = new SqliteJobStore(dbFile);
    const after = recorder();
    const p = poller(reopened);
    await sleep(Math.max(0, SETTLE_MS - (Date.now() - firstSeenAt)) + 100);
    const outcome = await p.poll(after.onEvent);
    const again = await p.poll(after.onEvent);
    await reopened.close();

    expect(before.events).toEqual([]);
    expect(after.events).toEqual([{ uid: study.studyInstanceUid, instances: 2 }]);
    expect(outcome.emitted).toBe(1);
    expect(again.emitted).toBe(0);
  });

  it('when identical instances are uploaded again, then nothing new is emitted', async () => {
    const store = new SqliteJobStore(dbFile);
    for (const f of halves.files) await orthanc.upload(f);
    const { events, onEvent } = recorder();
    const p = poller(store);
    await p.poll(onEvent);
    await sleep(SETTLE_MS + 100);
    await p.poll(onEvent);
    await store.close();
    expect(events).toEqual([]);
  });

  it('when an emitted study gets a late instance, then it is emitted again after settling with the new instance set', async () => {
    const store = new MemoryCursorStore();
    const study = syntheticMrSeries({ slices: 3 });
    for (const f of study.files.slice(0, 2)) await orthanc.upload(f);
    const { events, onEvent } = recorder();
    const p = poller(store, { settleMs: 600 });
    await p.poll(onEvent);
    await sleep(700);
    await p.poll(onEvent);
    await orthanc.upload(study.files[2] as Uint8Array);
    await p.poll(onEvent);
    await sleep(700);
    await p.poll(onEvent);
    const mine = events.filter((e) => e.uid === study.studyInstanceUid);
    expect(mine).toEqual([
      { uid: study.studyInstanceUid, instances: 2 },
      { uid: study.studyInstanceUid, instances: 3 },
    ]);
  });

  it('when the first poll runs without fromStart, then studies already there are a baseline: only later studies are emitted', async () => {
    const store = new MemoryCursorStore();
    const { events, onEvent } = recorder();
    const p = poller(store, { fromStart: false, stateName: 'qido-baseline' });
    const first = await p.poll(onEvent);
    const study = syntheticMrSeries({ slices: 2 });
    for (const f of study.files) await orthanc.upload(f);
    await p.poll(onEvent);
    await sleep(SETTLE_MS + 100);
    await p.poll(onEvent);
    expect(first.listed).toBeGreaterThanOrEqual(3);
    expect(first.emitted).toBe(0);
    expect(events).toEqual([{ uid: study.studyInstanceUid, instances: 2 }]);
  });

  it('when the StudyDate window does not reach the studies, then none is listed and the watermark is today', async () => {
    const store = new MemoryCursorStore();
    const outcome = await poller(store, { lookbackDays: 0, stateName: 'qido-window' }).poll(async () => undefined);
    expect(outcome.listed).toBe(0);
    expect(outcome.window).toMatch(/^\d{8}-$/);
    expect(parseState(store.values.get('qido-window')).since).toBe(outcome.window.slice(0, 8));
  });

  it('when the PACS cannot be reached, then the poll fails with PACS_UNAVAILABLE and the state is untouched', async () => {
    const store = new MemoryCursorStore();
    const p = poller(store, { url: 'http://127.0.0.1:9/dicom-web' });
    const err = await rejected(p.poll(async () => undefined));
    expect(err.code).toBe('PACS_UNAVAILABLE');
    expect(store.writes).toEqual([]);
  });

  it('when the credentials are wrong, then the poll fails with PACS_REJECTED naming the cause', async () => {
    const p = poller(new MemoryCursorStore(), { auth: { username: orthanc.username, password: 'wrong' } });
    const err = await rejected(p.poll(async () => undefined));
    expect(err.code).toBe('PACS_REJECTED');
    expect(err.message).toMatch(/credentials \(HTTP 401\)/);
  });
});
