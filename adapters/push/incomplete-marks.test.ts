/**
 * The incomplete mark lifecycle through the real ReceivedStore: set by a transfer that lost instances, kept on disk
 * beside the study (and across a restart), cleared by a later clean transfer into the study.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPart10, str } from '../../src/dicom/part10';
import { silentLogger } from '../../src/logging';
import { INTERRUPTED_REASON, MARK_FILE } from './incomplete-marks';
import { PushTransfer } from './push-transfer';
import { PushRejection, ReceivedStore } from './received-store';

const SAMPLE_DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'sample-mr', 'dicom');
const sample = (i: number): Buffer => readFileSync(path.join(SAMPLE_DIR, `IM${String(i).padStart(4, '0')}.dcm`));
const STUDY = str(readPart10(sample(1)).dataset, 'StudyInstanceUID') as string;

describe('incomplete marks (ReceivedStore + PushTransfer)', () => {
  let root: string;
  let store: ReceivedStore;
  const markFile = (): string => path.join(store.studyDir(STUDY), MARK_FILE);
  const reopen = async (): Promise<ReceivedStore> => {
    const s = new ReceivedStore(root, { maxInstanceBytes: 1 << 24, logger: silentLogger });
    await s.init();
    return s;
  };

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'marks-'));
    store = await reopen();
  });

  /** A transfer that stores `stored` sample instances and loses `lost` of them to a full disk. */
  async function transfer(stored: number[], lost: number, options: { cutShort?: string; from?: number } = {}): Promise<PushTransfer> {
    const t = new PushTransfer(store, 'STOW-RS request');
    for (const i of stored) await store.commitBytes(sample(i), { source: 'stow' }, {}, t);
    for (let k = 0; k < lost; k++) t.refused('out-of-resources');
    if (options.cutShort) t.cutShort(options.cutShort);
    return t;
  }

  it('when a transfer lost instances to a full disk, then the study it stored into is marked, on disk and in memory', async () => {
    await (await transfer([1, 2], 38)).finish();
    const mark = store.incompleteMark(STUDY);
    expect(mark).toMatchObject({ reason: '38 instances of a STOW-RS request were not stored (out of resources); re-send the study', failed: 38 });
    expect(JSON.parse(readFileSync(markFile(), 'utf8'))).toMatchObject({ studyInstanceUid: STUDY, failed: 38, reason: mark?.reason, at: mark?.at });
    expect((await reopen()).incompleteMark(STUDY)).toEqual(mark);
  });

  it('when instances were refused only as unreadable or too large, then the study is not marked (re-sending cannot help)', async () => {
    const t = await transfer([1], 0);
    t.refused('unreadable');
    t.refused('too-large');
    await t.finish();
    expect(store.incompleteMark(STUDY)).toBeUndefined();
    expect(existsSync(markFile())).toBe(false);
  });

  it('when a later transfer stores into the study without failures, then the mark is removed', async () => {
    await (await transfer([1, 2], 5)).finish();
    await new Promise((r) => setTimeout(r, 5));
    await (await transfer([3, 4, 5], 0)).finish();
    expect(store.incompleteMark(STUDY)).toBeUndefined();
    expect(existsSync(markFile())).toBe(false);
    expect((await reopen()).incompleteMark(STUDY)).toBeUndefined();
  });

  it("when a clean transfer began before a failing one ended, then it leaves that failure's mark alone", async () => {
    const clean = await transfer([3], 0);
    await new Promise((r) => setTimeout(r, 5));
    await (await transfer([1], 2)).finish();
    await clean.finish();
    expect(store.incompleteMark(STUDY)?.failed).toBe(2);
  });

  it('when the service stops mid-transfer, then the in-progress mark written ahead reads back as interrupted', async () => {
    await transfer([1, 2], 0); // never finished: the process "crashed"
    expect(JSON.parse(readFileSync(markFile(), 'utf8'))).toMatchObject({ inProgress: true, studyInstanceUid: STUDY });
    expect(store.incompleteMark(STUDY)).toBeUndefined(); // still in progress, not (yet) incomplete
    expect((await reopen()).incompleteMark(STUDY)).toMatchObject({ reason: INTERRUPTED_REASON, failed: 0 });
  });

  it('when a transfer is cut short after storing, then its study is marked with how it stopped', async () => {
    await (await transfer([1], 0, { cutShort: 'ended before its closing boundary' })).finish();
    expect(store.incompleteMark(STUDY)?.reason).toBe('a STOW-RS request ended before its closing boundary; re-send the study');
  });

  it('when a failing transfer names a study that already has files, then that study is marked too', async () => {
    await (await transfer([1], 0)).finish();
    const named = new PushTransfer(store, 'STOW-RS request', STUDY);
    named.cutShort('was refused for lack of disk space (storage pressure)');
    await named.finish();
    expect(store.incompleteMark(STUDY)?.reason).toBe('a STOW-RS request was refused for lack of disk space (storage pressure); re-send the study');
    const unknown = new PushTransfer(store, 'STOW-RS request', '1.2.3.4');
    unknown.cutShort('was refused for lack of disk space (storage pressure)');
    await unknown.finish();
    expect(store.incompleteMark('1.2.3.4')).toBeUndefined();
  });

  it('when the study files are removed, then the mark goes with them', async () => {
    await (await transfer([1], 1)).finish();
    await store.withStudyLock(STUDY, () => store.removeStudyFiles(STUDY));
    expect(store.incompleteMark(STUDY)).toBeUndefined();
  });

  it('when the file on disk is shorter than the bytes written to it, then the commit fails as out of resources (A700), not unreadable', async () => {
    const tmp = store.tempPath();
    const whole = sample(1);
    writeFileSync(tmp, whole.subarray(0, 20_000));
    const err = await store.commitFile(tmp, { source: 'stow' }, { bytes: whole.length }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushRejection);
    expect(err).toMatchObject({ reason: 'out-of-resources', noSpace: true });
    expect(existsSync(tmp)).toBe(false);
  });
});
