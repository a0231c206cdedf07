/**
 * Orthanc pull intake against a real Orthanc: the change feed's cursor across a restart, the reconciliation sweep
 * (missed StableStudy changes, unstable studies, failed deliveries), and duplicate events from many deliveries and
 * two feeds at once turned into jobs by the real router and SQLite job store.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOrthancSource } from '../../adapters/orthanc';
import { OrthancChangeFeed } from '../../adapters/orthanc/change-feed';
import { MemoryCursorStore, type CursorStore } from '../../adapters/orthanc/cursor-store';
import { OrthancReconciliation, orthancTimeMinus } from '../../adapters/orthanc/reconciliation';
import { SqliteJobStore } from '../../adapters/sqlite/sqlite-job-store';
import { readPart10, str } from '../../src/dicom/part10';
import { AppError } from '../../src/domain/errors';
import type { StudyEvent } from '../../src/domain/study';
import { silentLogger } from '../../src/logging';
import { onStudyEvent } from '../../src/pipeline/on-study-event';
import { loadAllModels } from '../../src/service';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { syntheticMrSeries } from '../support/synthetic-mr';

const ROOT = path.join(__dirname, '..', '..');
const STABLE_AGE_S = 2;
let orthanc: TestOrthanc;
const feeds: OrthancChangeFeed[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = (STABLE_AGE_S + 8) * 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function uploadStudy(slices = 2): Promise<string> {
  const series = syntheticMrSeries({ slices });
  for (const file of series.files) await orthanc.upload(file);
  return series.studyInstanceUid;
}

async function orthancStudy(uid: string): Promise<{ ID: string; IsStable: boolean; LastUpdate: string }> {
  const res = await fetch(`${orthanc.baseUrl}/tools/lookup`, { method: 'POST', body: uid, headers: { authorization: orthanc.authorization } });
  const [hit] = (await res.json()) as { ID: string }[];
  if (!hit) throw new Error('study not in Orthanc');
  return orthanc.getJson(`/studies/${hit.ID}`);
}

async function waitStable(uid: string): Promise<void> {
  await waitFor('the study to be stable', async () => (await orthancStudy(uid)).IsStable);
}

async function clearChangeLog(): Promise<void> {
  const res = await fetch(`${orthanc.baseUrl}/changes`, { method: 'DELETE', headers: { authorization: orthanc.authorization } });
  if (!res.ok) throw new Error(`DELETE /changes answered ${res.status}`);
}

function feed(cursorStore: CursorStore, batchLimit = 100): OrthancChangeFeed {
  const f = new OrthancChangeFeed({
    baseUrl: orthanc.baseUrl,
    auth: { username: orthanc.username, password: orthanc.password },
    cursorStore,
    pollIntervalMs: 100,
    batchLimit,
    backoff: { initialMs: 100, maxMs: 400 },
  });
  feeds.push(f);
  return f;
}

function sweeper(cursorStore: CursorStore, marginMs = 0, fromStart = false): OrthancReconciliation {
  return new OrthancReconciliation({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password }, cursorStore, marginMs, pageSize: 2, fromStart });
}

const uidsOf = (events: StudyEvent[]): string[] => events.map((e) => e.studyInstanceUid);

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: STABLE_AGE_S });
});

afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
});

afterAll(async () => {
  await orthanc?.stop();
});

describe('change feed cursor across a restart (durable SQLite cursor)', () => {
  it('when the feed stops at change k and a new feed starts on the same store, then it delivers exactly the later studies, each once', async () => {
    const dbFile = path.join(mkdtempSync(path.join(tmpdir(), 'intake-cursor-')), 'jobs.db');
    let store = new SqliteJobStore(dbFile);
    const first: StudyEvent[] = [];
    const f1 = feed(store, 1);
    await f1.start(async (e) => {
      first.push(e);
    });
    await waitFor('initial cursor', async () => (await store.getCursor('orthanc-changes')) !== undefined);
    const a = await uploadStudy();
    const b = await uploadStudy();
    await waitFor('A and B delivered', () => first.length >= 2);
    await f1.stop();
    const k = Number(await store.getCursor('orthanc-changes'));
    await store.close();

    // While stopped: two more studies become stable.
    const c = await uploadStudy();
    const d = await uploadStudy();
    await waitStable(c);
    await waitStable(d);

    store = new SqliteJobStore(dbFile);
    expect(Number(await store.getCursor('orthanc-changes'))).toBe(k);
    const second: StudyEvent[] = [];
    const f2 = feed(store, 1);
    await f2.start(async (e) => {
      second.push(e);
    });
    await waitFor('C and D delivered', () => second.length >= 2);
    await sleep(500);
    await f2.stop();
    await store.close();

    expect(uidsOf(first).sort()).toEqual([a, b].sort());
    expect(uidsOf(second).sort()).toEqual([c, d].sort());
  });
});

describe('change feed: the cursor passes a change only once its jobs exist', () => {
  it('when the job store is slow to enqueue, then the stored cursor stays before the StableStudy change until the jobs are stored', async () => {
    const models = await loadAllModels(path.join(ROOT, 'models'));
    const jobs = new SqliteJobStore(path.join(mkdtempSync(path.join(tmpdir(), 'intake-order-')), 'jobs.db'));
    const source = createOrthancSource({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password } });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const enqueue = jobs.enqueue.bind(jobs);
    let enqueueCalls = 0;
    jobs.enqueue = async (spec) => {
      enqueueCalls++;
      await gate;
      return enqueue(spec);
    };
    const f = feed(jobs);
    await f.start(async (e) => void (await onStudyEvent(e, { source, jobs, models, logger: silentLogger })));
    try {
      await waitFor('initial cursor', async () => (await jobs.getCursor('orthanc-changes')) !== undefined);
      const uid = await uploadStudy(16);
      await waitFor('routing to reach the job store', () => enqueueCalls > 0);
      const { ID } = await orthancStudy(uid);
      const page = await orthanc.getJson<{ Changes: { ChangeType: string; ID: string; Seq: number }[] }>('/changes?limit=1000');
      const stableSeq = page.Changes.find((c) => c.ChangeType === 'StableStudy' && c.ID === ID)?.Seq as number;
      await sleep(300);
      expect(Number(await jobs.getCursor('orthanc-changes'))).toBeLessThan(stableSeq);
      expect(await jobs.list({ studyInstanceUid: uid })).toEqual([]);

      release();
      await waitFor('the cursor to pass the change', async () => Number(await jobs.getCursor('orthanc-changes')) >= stableSeq);
      expect((await jobs.list({ studyInstanceUid: uid })).map((j) => j.modelId).sort()).toEqual(models.map((m) => m.manifest.id).sort());
    } finally {
      release();
      await f.stop();
      await jobs.close();
    }
  });

  it('when a study cannot be turned into jobs (BAD_DICOM), then the feed passes its change; refused credentials hold the cursor until fixed', async () => {
    const store = new MemoryCursorStore();
    const deliveries: string[] = [];
    let broken = '';
    let denied = '';
    let refuse = true;
    const f = feed(store);
    await f.start(async (e) => {
      deliveries.push(e.studyInstanceUid);
      if (e.studyInstanceUid === broken) throw new AppError('BAD_DICOM', 'metadata unreadable');
      if (e.studyInstanceUid === denied && refuse) throw new AppError('PACS_REJECTED', 'PACS refused our credentials (HTTP 401)', { retryable: false });
    });
    await waitFor('initial cursor', () => store.values.has('orthanc-changes'));
    const stableSeqOf = async (uid: string): Promise<number> => {
      const { ID } = await orthancStudy(uid);
      const page = await orthanc.getJson<{ Changes: { ChangeType: string; ID: string; Seq: number }[] }>('/changes?limit=1000');
      return page.Changes.find((c) => c.ChangeType === 'StableStudy' && c.ID === ID)?.Seq ?? Number.POSITIVE_INFINITY;
    };

    broken = await uploadStudy();
    await waitFor('the broken study delivered', () => deliveries.includes(broken));
    const brokenSeq = await stableSeqOf(broken);
    await waitFor('the cursor to pass the broken study', () => Number(store.values.get('orthanc-changes')) >= brokenSeq);
    expect(deliveries.filter((u) => u === broken)).toHaveLength(1);

    denied = await uploadStudy();
    await waitFor('the refused study delivered again', () => deliveries.filter((u) => u === denied).length >= 2);
    const deniedSeq = await stableSeqOf(denied);
    expect(Number(store.values.get('orthanc-changes'))).toBeLessThan(deniedSeq);
    refuse = false;
    await waitFor('the cursor to pass the study once accepted', () => Number(store.values.get('orthanc-changes')) >= deniedSeq);
  });
});

describe('reconciliation sweep', () => {
  it('when there is no watermark, then the first sweep delivers nothing (or everything stable with fromStart), and neither does the next', async () => {
    await waitStable(await uploadStudy());
    const store = new MemoryCursorStore();
    const events: StudyEvent[] = [];
    const outcome = await new OrthancReconciliation({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password }, cursorStore: store, marginMs: 60_000 }).sweep(async (e) => void events.push(e));
    expect(events).toEqual([]);
    expect(outcome.listed).toBeGreaterThanOrEqual(1);
    expect(store.values.get('orthanc-reconciliation')).toMatch(/^\d{8}T\d{6}$/);
    const next = await new OrthancReconciliation({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password }, cursorStore: store, marginMs: 60_000 }).sweep(async (e) => void events.push(e));
    expect(next.candidates).toBe(0);
    expect(events).toEqual([]);

    const replay: StudyEvent[] = [];
    const all = await sweeper(new MemoryCursorStore(), 0, true).sweep(async (e) => void replay.push(e));
    expect(all.emitted).toBe(all.listed);
    expect(new Set(uidsOf(replay)).size).toBe(all.listed);
  });

  it('when a study became stable while nobody read the change log and the log was cleared, then the sweep delivers it and no study older than its watermark', async () => {
    const a = await uploadStudy();
    await waitStable(a);
    const store = new MemoryCursorStore();
    await sweeper(store).sweep(async () => undefined);
    const watermark = store.values.get('orthanc-reconciliation') as string;
    // The first run starts just after the newest study (one second on: LastUpdate's resolution).
    expect(watermark).toBe(orthancTimeMinus((await orthancStudy(a)).LastUpdate, -1000));

    await sleep(1100);
    const missed = await uploadStudy();
    await waitStable(missed);
    await clearChangeLog();
    expect((await orthanc.getJson<{ Changes: unknown[] }>('/changes')).Changes).toEqual([]);

    const events: StudyEvent[] = [];
    const outcome = await sweeper(store).sweep(async (e) => void events.push(e));
    expect(uidsOf(events)).toEqual([missed]);
    expect(outcome).toMatchObject({ emitted: 1, unstable: 0, failed: 0 });
    expect(store.values.get('orthanc-reconciliation')).toBe((await orthancStudy(missed)).LastUpdate);
    expect(events.every((e) => e.source === 'orthanc' && typeof e.sourceRef === 'string')).toBe(true);
  });

  it('when a study is not stable yet, then the sweep skips it and keeps the watermark before it, and a later sweep delivers it', async () => {
    const store = new MemoryCursorStore();
    await sweeper(store).sweep(async () => undefined);
    const before = store.values.get('orthanc-reconciliation') as string;
    await sleep(1100);
    const fresh = await uploadStudy();
    const events: StudyEvent[] = [];
    const outcome = await sweeper(store).sweep(async (e) => void events.push(e));
    expect(outcome.unstable).toBe(1);
    expect(uidsOf(events)).not.toContain(fresh);
    expect((store.values.get('orthanc-reconciliation') as string) <= (await orthancStudy(fresh)).LastUpdate).toBe(true);
    expect((store.values.get('orthanc-reconciliation') as string) >= before).toBe(true);

    await waitStable(fresh);
    const later: StudyEvent[] = [];
    await sweeper(store).sweep(async (e) => void later.push(e));
    expect(uidsOf(later)).toContain(fresh);
  });

  it('when delivering a study fails, then the watermark does not pass it and the next sweep delivers it again; a broken study is skipped', async () => {
    const store = new MemoryCursorStore();
    await sweeper(store).sweep(async () => undefined);
    await sleep(1100);
    const flaky = await uploadStudy();
    const broken = await uploadStudy();
    await waitStable(flaky);
    await waitStable(broken);

    const failing = await sweeper(store).sweep(async (e) => {
      if (e.studyInstanceUid === flaky) throw new AppError('PACS_UNAVAILABLE', 'PACS restarting');
      if (e.studyInstanceUid === broken) throw new AppError('BAD_DICOM', 'metadata unreadable');
    });
    expect(failing.failed).toBe(1);
    expect((store.values.get('orthanc-reconciliation') as string) <= (await orthancStudy(flaky)).LastUpdate).toBe(true);

    const retried: StudyEvent[] = [];
    await sweeper(store).sweep(async (e) => void retried.push(e));
    expect(uidsOf(retried)).toContain(flaky);
  });
});

describe('duplicate events become one job per model (real router, SQLite job store)', () => {
  it('when one study is delivered 5 times at once and by two feeds replaying the change log, then each model has exactly one job', async () => {
    const models = await loadAllModels(path.join(ROOT, 'models'));
    const jobs = new SqliteJobStore(path.join(mkdtempSync(path.join(tmpdir(), 'intake-dedupe-')), 'jobs.db'));
    const source = createOrthancSource({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password } });
    const dir = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
    const files = readdirSync(dir).filter((f) => f.endsWith('.dcm'));
    for (const f of files) await orthanc.upload(new Uint8Array(readFileSync(path.join(dir, f))));
    const uid = str(readPart10(new Uint8Array(readFileSync(path.join(dir, files[0] as string)))).dataset, 'StudyInstanceUID') as string;
    await waitStable(uid);

    let created = 0;
    let existing = 0;
    const route = async (event: StudyEvent): Promise<void> => {
      const outcome = await onStudyEvent(event, { source, jobs, models, logger: silentLogger });
      created += outcome.created;
      existing += outcome.existing;
    };
    const event: StudyEvent = { studyInstanceUid: uid, source: 'orthanc', receivedAt: new Date().toISOString() };
    await Promise.all(Array.from({ length: 5 }, () => route(event)));

    // Two replicas replaying the whole change log from sequence 0 at the same time.
    const routedByFeeds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const f = new OrthancChangeFeed({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password }, cursorStore: new MemoryCursorStore(), fromStart: true, pollIntervalMs: 100 });
      feeds.push(f);
      await f.start(async (e) => {
        if (e.studyInstanceUid !== uid) return;
        await route(e);
        routedByFeeds.push(e.studyInstanceUid);
      });
    }
    await waitFor('both feeds to deliver the study', () => routedByFeeds.length >= 2, 15_000);
    expect(routedByFeeds).toHaveLength(2);

    const all = await jobs.list({ studyInstanceUid: uid });
    expect(all.map((j) => j.modelId).sort()).toEqual(models.map((m) => m.manifest.id).sort());
    expect(new Set(all.map((j) => j.idempotencyKey)).size).toBe(all.length);
    expect(created).toBe(models.length);
    expect(existing).toBe(models.length * (5 + routedByFeeds.length) - created);
    await jobs.close();
  });
});
