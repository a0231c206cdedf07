import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { readPart10, str } from '../../src/dicom/part10';
import type { Job, JobState } from '../../src/domain/job';
import type { StudyEvent } from '../../src/domain/study';
import { silentLogger } from '../../src/logging';
import { MemoryJobStore } from '../memory/memory-job-store';
import { decideCleanup, PushAssembler, type CleanupPolicy } from './push-assembler';
import { PushTransfer } from './push-transfer';
import { ReceivedStore } from './received-store';

const SAMPLE_DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'sample-mr', 'dicom');
const sample = (i: number): Buffer => readFileSync(path.join(SAMPLE_DIR, `IM${String(i).padStart(4, '0')}.dcm`));
const STUDY = str(readPart10(sample(1)).dataset, 'StudyInstanceUID') as string;
const HOUR = 3_600_000;

const job = (state: JobState, updatedAt = '2026-01-01T00:00:00.000Z'): Job => ({
  id: state,
  idempotencyKey: state,
  studyInstanceUid: STUDY,
  seriesInstanceUid: '1',
  instanceUids: [],
  modelId: 'm',
  modelVersion: '1',
  modelDigest: 'd',
  source: 'stow',
  state,
  attempts: 1,
  interruptions: 0,
  createdAt: updatedAt,
  updatedAt,
});

describe('decideCleanup', () => {
  const policy: CleanupPolicy = { deleteOnSuccess: true, keepFailedHours: 72 };
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  it.each<[string, string, string, Job[], CleanupPolicy, number]>([
    ['all succeeded', 'delete', 'succeeded', [job('succeeded')], policy, t0],
    ['no job (no model wanted the study)', 'delete', 'no-jobs', [], policy, t0],
    ['one queued', 'keep', 'jobs-pending', [job('succeeded'), job('queued')], policy, t0 + 1000 * HOUR],
    ['one running beside an old failure', 'keep', 'jobs-pending', [job('failed'), job('running')], policy, t0 + 1000 * HOUR],
    ['failed 71 h ago', 'keep', 'failed-recently', [job('failed'), job('succeeded')], policy, t0 + 71 * HOUR],
    ['failed 72 h ago', 'delete', 'failed-expired', [job('failed')], policy, t0 + 72 * HOUR],
    ['succeeded but deleteOnSuccess off', 'keep', 'kept-on-success', [job('succeeded')], { deleteOnSuccess: false, keepFailedHours: 72 }, t0],
    ['failed with keepFailedHours 0', 'delete', 'failed-expired', [job('failed')], { deleteOnSuccess: true, keepFailedHours: 0 }, t0],
  ])('when %s, then %s the files (%s)', (_what, action, reason, jobs, p, now) => {
    expect(decideCleanup(jobs, p, now)).toMatchObject({ action, reason });
  });

  it.each<[string, string, string, Job[], number]>([
    ['marked incomplete 71 h ago and no job (held)', 'keep', 'incomplete', [], t0 + 71 * HOUR],
    ['marked incomplete 72 h ago and no job', 'delete', 'incomplete-expired', [], t0 + 72 * HOUR],
    ['marked incomplete beside an old success', 'keep', 'incomplete', [job('succeeded')], t0 + HOUR],
    ['marked incomplete long ago but a job is queued', 'keep', 'jobs-pending', [job('queued')], t0 + 1000 * HOUR],
  ])('when %s, then %s the files (%s)', (_what, action, reason, jobs, now) => {
    expect(decideCleanup(jobs, policy, now, t0)).toMatchObject({ action, reason });
  });
});

describe('PushAssembler', () => {
  let root: string;
  let store: ReceivedStore;
  let jobs: MemoryJobStore;
  let events: StudyEvent[];
  const onEvent = async (e: StudyEvent): Promise<void> => void events.push(e);
  const quietMs = 2000;
  const assembler = (cleanup: CleanupPolicy = { deleteOnSuccess: true, keepFailedHours: 72 }): PushAssembler =>
    new PushAssembler(store, { quietMs, pollIntervalMs: 50, cleanup, jobs, logger: silentLogger });
  const files = (): string[] => readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.dcm')).map((e) => e.name);

  /** Queues a job over the received instances and moves it to the given state. */
  async function jobOver(sopUids: string[], state: JobState): Promise<void> {
    await jobs.enqueue({ idempotencyKey: `k-${state}`, studyInstanceUid: STUDY, seriesInstanceUid: 's', instanceUids: sopUids, modelId: 'm', modelVersion: '1', modelDigest: 'd', source: 'stow' });
    if (state === 'queued') return;
    const claimed = (await jobs.claimNext(new Date())) as Job;
    if (state === 'succeeded') await jobs.succeed(claimed.id, {});
    if (state === 'failed') await jobs.fail(claimed.id, { code: 'X', message: 'x', retryable: false });
  }

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'assembler-'));
    store = new ReceivedStore(root, { maxInstanceBytes: 1 << 24, logger: silentLogger });
    await store.init();
    jobs = new MemoryJobStore();
    events = [];
  });

  it('when instances keep arriving, then no event until the study is quiet, then exactly one', async () => {
    const a = assembler();
    await store.commitBytes(sample(1), { source: 'stow' });
    await store.commitBytes(sample(2), { source: 'stow' });
    await a.tick(onEvent, Date.now());
    expect(events).toHaveLength(0);
    await a.tick(onEvent, Date.now() + quietMs + 10);
    await a.tick(onEvent, Date.now() + quietMs + 20);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ studyInstanceUid: STUDY, source: 'stow' });
  });

  it('when a C-STORE study is quiet, then its event carries source dimse and the calling AE title', async () => {
    await store.commitBytes(sample(1), { source: 'dimse', callingAeTitle: 'MR01' });
    await assembler().tick(onEvent, Date.now() + quietMs + 10);
    expect(events[0]).toMatchObject({ source: 'dimse', callingAeTitle: 'MR01' });
  });

  it('when a job over the instances is still queued, then the files stay; once it succeeded, they are removed', async () => {
    const a = assembler();
    const sops = [1, 2].map((i) => str(readPart10(sample(i)).dataset, 'SOPInstanceUID') as string);
    await store.commitBytes(sample(1), { source: 'stow' });
    await store.commitBytes(sample(2), { source: 'stow' });
    await jobOver(sops, 'queued');
    await a.tick(onEvent, Date.now() + quietMs + 10);
    expect(files()).toHaveLength(2);
    const queued = (await jobs.claimNext(new Date())) as Job;
    await jobs.succeed(queued.id, {});
    await a.tick(onEvent, Date.now() + quietMs + 20);
    expect(files()).toHaveLength(0);
    expect(existsSync(store.studyDir(STUDY))).toBe(false);
  });

  it('when a job failed, then the files are kept for keepFailedHours and removed after', async () => {
    const a = assembler({ deleteOnSuccess: true, keepFailedHours: 72 });
    const sop = str(readPart10(sample(1)).dataset, 'SOPInstanceUID') as string;
    await store.commitBytes(sample(1), { source: 'stow' });
    await jobOver([sop], 'failed');
    await a.tick(onEvent, Date.now() + quietMs + 10);
    expect(files()).toHaveLength(1);
    await a.tick(onEvent, Date.now() + 71 * HOUR);
    expect(files()).toHaveLength(1);
    await a.tick(onEvent, Date.now() + 73 * HOUR);
    expect(files()).toHaveLength(0);
  });

  it('when an instance arrives after the event, then the study is emitted again and the new file survives cleanup', async () => {
    const a = assembler();
    await store.commitBytes(sample(1), { source: 'stow' });
    const t = Date.now();
    await a.tick(onEvent, t + quietMs + 10); // emitted, no jobs: files removed
    expect(files()).toHaveLength(0);
    await store.commitBytes(sample(2), { source: 'stow' });
    await a.tick(onEvent, Date.now());
    expect(files()).toHaveLength(1);
    await a.tick(onEvent, Date.now() + quietMs + 10);
    expect(events).toHaveLength(2);
  });

  it('when the service restarts with received files, then the new assembler re-indexes and emits them', async () => {
    await store.commitBytes(sample(1), { source: 'stow' });
    const reopened = new ReceivedStore(root, { maxInstanceBytes: 1 << 24, logger: silentLogger });
    await reopened.init();
    const a = new PushAssembler(reopened, { quietMs, pollIntervalMs: 50, cleanup: { deleteOnSuccess: false, keepFailedHours: 72 }, jobs, logger: silentLogger });
    await a.tick(onEvent, Date.now() + quietMs + 10);
    expect(events).toEqual([expect.objectContaining({ studyInstanceUid: STUDY, source: 'stow' })]);
    expect(files()).toHaveLength(1);
  });

  /** Stores sample instances in one STOW-RS transfer that lost `lost` instances to a full disk. */
  async function transfer(instances: number[], lost: number): Promise<void> {
    const t = new PushTransfer(store, 'STOW-RS request');
    for (const i of instances) await store.commitBytes(sample(i), { source: 'stow' }, {}, t);
    for (let k = 0; k < lost; k++) t.refused('out-of-resources');
    await t.finish();
  }

  it('when a transfer lost instances to a full disk, then the event says incomplete; after a clean re-send a new event does not', async () => {
    const a = assembler();
    await transfer([1, 2], 38);
    await a.tick(onEvent, Date.now() + quietMs + 10);
    expect(events).toEqual([expect.objectContaining({ studyInstanceUid: STUDY, source: 'stow', incomplete: '38 instances of a STOW-RS request were not stored (out of resources); re-send the study' })]);
    await a.tick(onEvent, Date.now() + quietMs + 20);
    expect(events).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 5));
    await transfer([1, 2, 3], 0);
    await a.tick(onEvent, Date.now() + quietMs + 30);
    expect(events).toHaveLength(2);
    expect(events[1]?.incomplete).toBeUndefined();
  });

  it('when a study is marked without any file changing (a refused request naming it), then it is emitted again, incomplete', async () => {
    const a = assembler({ deleteOnSuccess: false, keepFailedHours: 72 });
    await transfer([1], 0);
    await a.tick(onEvent, Date.now() + quietMs + 10);
    const named = new PushTransfer(store, 'STOW-RS request', STUDY);
    named.cutShort('was refused for lack of disk space (storage pressure)');
    await named.finish();
    await a.tick(onEvent, Date.now() + quietMs + 20);
    expect(events.map((e) => e.incomplete)).toEqual([undefined, 'a STOW-RS request was refused for lack of disk space (storage pressure); re-send the study']);
  });

  it('when a marked study has no jobs (held), then its files are not removed as no-jobs; keepFailedHours after its last change they are, with a warning', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const a = new PushAssembler(store, { quietMs, pollIntervalMs: 50, cleanup: { deleteOnSuccess: true, keepFailedHours: 72 }, jobs, logger });
    await transfer([1, 2], 1);
    await a.tick(onEvent, Date.now() + quietMs + 10);
    await a.tick(onEvent, Date.now() + 71 * HOUR);
    expect(files()).toHaveLength(2);
    await a.tick(onEvent, Date.now() + 73 * HOUR);
    expect(files()).toHaveLength(0);
    expect(store.incompleteMark(STUDY)).toBeUndefined();
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toContain('received study files removed: it stayed incomplete (never re-sent whole)');
  });

  it('when a kept study is re-sent, then it is emitted at once rather than after the kept-files recheck pause', async () => {
    const a = assembler();
    await transfer([1], 1);
    const t = Date.now();
    await a.tick(onEvent, t + quietMs + 10); // emitted, kept (incomplete): next recheck in a minute
    await new Promise((r) => setTimeout(r, 5));
    await transfer([1, 2], 0);
    await a.tick(onEvent, Date.now() + quietMs + 20);
    expect(events).toHaveLength(2);
  });

  it('when routing the event fails, then the files stay and the study is tried again later', async () => {
    const a = assembler();
    await store.commitBytes(sample(1), { source: 'stow' });
    let calls = 0;
    const failing = async (): Promise<void> => {
      calls++;
      throw new Error('job store down');
    };
    await a.tick(failing, Date.now() + quietMs + 10);
    await a.tick(failing, Date.now() + quietMs + 20);
    expect(calls).toBe(1);
    expect(files()).toHaveLength(1);
    await a.tick(onEvent, Date.now() + quietMs + 31_000);
    expect(events).toHaveLength(1);
  });
});
