import { Writable } from 'node:stream';
import { OrthancChangeFeed, type OrthancChangeFeedOptions } from '../../adapters/orthanc/change-feed';
import { MemoryCursorStore } from '../../adapters/orthanc/cursor-store';
import type { StudyEvent } from '../../src/domain/study';
import { createLogger } from '../../src/logging';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { syntheticMrSeries } from '../support/synthetic-mr';

const STABLE_AGE_S = 2;
let orthanc: TestOrthanc;
const feeds: OrthancChangeFeed[] = [];

function feed(options: Partial<OrthancChangeFeedOptions> & { cursorStore: MemoryCursorStore }): OrthancChangeFeed {
  const f = new OrthancChangeFeed({
    baseUrl: orthanc.baseUrl,
    auth: { username: orthanc.username, password: orthanc.password },
    pollIntervalMs: 200,
    backoff: { initialMs: 100, maxMs: 400 },
    ...options,
  });
  feeds.push(f);
  return f;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = (STABLE_AGE_S + 6) * 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function uploadStudy(): Promise<string> {
  const series = syntheticMrSeries({ slices: 3 });
  for (const file of series.files) await orthanc.upload(file);
  return series.studyInstanceUid;
}

async function stableSeqOf(studyUid: string): Promise<number> {
  const page = await orthanc.getJson<{ Changes: { ChangeType: string; ID: string; Seq: number }[] }>('/changes?limit=1000');
  for (const change of page.Changes.filter((c) => c.ChangeType === 'StableStudy')) {
    const study = await orthanc.getJson<{ MainDicomTags: { StudyInstanceUID: string } }>(`/studies/${change.ID}`);
    if (study.MainDicomTags.StudyInstanceUID === studyUid) return change.Seq;
  }
  throw new Error('no StableStudy change for the study');
}

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: STABLE_AGE_S });
});

afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
});

afterAll(async () => {
  await orthanc?.stop();
});

describe('Orthanc change feed against a real Orthanc', () => {
  const store = new MemoryCursorStore();
  let firstStudy = '';

  it('when a study becomes stable, then one event is emitted and the cursor moves only after onEvent resolved', async () => {
    const events: StudyEvent[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const f = feed({ cursorStore: store });
    await f.start(async (event) => {
      events.push(event);
      await held;
    });
    // stop() waits for the in-flight onEvent, so never leave it held when an assertion fails.
    try {
      await assertCursorWaitsForOnEvent();
    } finally {
      release();
    }
    await sleep(600);
    expect(events).toHaveLength(1);

    async function assertCursorWaitsForOnEvent(): Promise<void> {
    await waitFor('initial cursor', () => store.values.has('orthanc-changes'));

    firstStudy = await uploadStudy();
    await waitFor('the StableStudy event', () => events.length === 1);
    const stableSeq = await stableSeqOf(firstStudy);
    expect(events[0]).toMatchObject({ studyInstanceUid: firstStudy, source: 'orthanc' });

    // onEvent is still running: the cursor must not have passed the stable change.
    // (It may have moved past the NewInstance/NewSeries changes before it; those need no work.)
    await sleep(400);
    expect(Number(store.values.get('orthanc-changes'))).toBeLessThan(stableSeq);
    expect(store.writes.some((w) => Number(w.value) >= stableSeq)).toBe(false);

    release();
    await waitFor('cursor after the event', () => Number(store.values.get('orthanc-changes')) >= stableSeq);
    }
  });

  it('when the feed restarts from the stored cursor, then nothing is emitted again', async () => {
    const events: StudyEvent[] = [];
    const writesBefore = store.writes.length;
    const f = feed({ cursorStore: store });
    await f.start(async (event) => {
      events.push(event);
    });
    await sleep(1000);
    await f.stop();
    expect(events).toEqual([]);
    expect(store.writes.length).toBe(writesBefore);
  });

  it('when there is no cursor and fromStart is set, then already stable studies are emitted; without it, they are not', async () => {
    const replayed: StudyEvent[] = [];
    await feed({ cursorStore: new MemoryCursorStore(), fromStart: true }).start(async (e) => {
      replayed.push(e);
    });
    const skipped: StudyEvent[] = [];
    await feed({ cursorStore: new MemoryCursorStore() }).start(async (e) => {
      skipped.push(e);
    });
    await waitFor('replay', () => replayed.length === 1, 3000);
    await sleep(500);
    expect(replayed.map((e) => e.studyInstanceUid)).toEqual([firstStudy]);
    expect(skipped).toEqual([]);
  });

  it('when onEvent throws, then the cursor does not advance and the event is delivered again', async () => {
    const own = new MemoryCursorStore();
    const calls: string[] = [];
    const cursorAtCall: (string | undefined)[] = [];
    const f = feed({ cursorStore: own });
    await f.start(async (event) => {
      calls.push(event.studyInstanceUid);
      cursorAtCall.push(own.values.get('orthanc-changes'));
      if (calls.length === 1) throw new Error('job store unavailable');
    });
    await waitFor('initial cursor', () => own.values.has('orthanc-changes'));
    const study = await uploadStudy();
    await waitFor('first delivery', () => calls.length >= 1);
    const stableSeq = await stableSeqOf(study);
    expect(Number(own.values.get('orthanc-changes'))).toBeLessThan(stableSeq);
    await waitFor('re-delivery', () => calls.length >= 2, 3000);
    await waitFor('cursor after re-delivery', () => Number(own.values.get('orthanc-changes')) >= stableSeq, 3000);
    expect(calls).toEqual([study, study]);
    // Both deliveries saw the same stored cursor, still before the stable change (the failure did not move it).
    expect(cursorAtCall[1]).toBe(cursorAtCall[0]);
    expect(Number(cursorAtCall[0])).toBeLessThan(stableSeq);
  });

  it('when Orthanc cannot be reached, then the feed keeps retrying without crashing, stores nothing and logs no patient data', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const own = new MemoryCursorStore();
    const f = feed({ cursorStore: own, baseUrl: 'http://127.0.0.1:9', logger });
    await f.start(async () => undefined);
    await sleep(1000);
    await f.stop();
    expect(own.writes).toEqual([]);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.join('')).toMatch(/PACS_UNAVAILABLE/);
    expect(lines.join('')).not.toMatch(/Synthetic|SYN-0001/);
  });

  it('when the password is wrong, then polls fail with an auth message and the cursor is untouched', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const own = new MemoryCursorStore();
    const f = feed({ cursorStore: own, auth: { username: orthanc.username, password: 'wrong' }, logger });
    await f.start(async () => undefined);
    await sleep(500);
    await f.stop();
    expect(own.writes).toEqual([]);
    expect(lines.join('')).toMatch(/refused our credentials \(HTTP 401\)/);
  });
});
