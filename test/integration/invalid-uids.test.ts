/**
 * Invalid UIDs at intake, with real files written by pydicom: dcmjs strips every character but digits and "." from
 * UI values, so "ABC.DEF" and "XYZ.QRS" used to read as the same UID "." and their studies merged into one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FolderIndex } from '../../adapters/folder/folder-index';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { ReceivedStore } from '../../adapters/push/received-store';
import { readPart10 } from '../../src/dicom/part10';
import { AppError } from '../../src/domain/errors';
import type { StudyInfo } from '../../src/domain/study';
import { uidProblem } from '../../src/domain/uid';
import { silentLogger } from '../../src/logging';
import { routeKnownStudy } from '../../src/pipeline/on-study-event';

const SAMPLE = path.join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom', 'IM0001.dcm');

/** Copies of a sample slice with the given (study, series, SOP instance) UIDs, written by pydicom without checks. */
function writeWithPydicom(dir: string, uids: [string, string, string][]): string[] {
  const script = `
import sys, json, warnings, pydicom
warnings.simplefilter('ignore')
for i, (st, se, sop) in enumerate(json.loads(sys.argv[3])):
    ds = pydicom.dcmread(sys.argv[1])
    ds.StudyInstanceUID = st; ds.SeriesInstanceUID = se; ds.SOPInstanceUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.save_as(f"{sys.argv[2]}/f{i}.dcm", write_like_original=False)
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, SAMPLE, dir, JSON.stringify(uids)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pydicom failed: ${r.stderr}`);
  return uids.map((_, i) => path.join(dir, `f${i}.dcm`));
}

describe('invalid UIDs at intake', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'uids-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('when a UID is checked, then digits and dots, at most 64 characters, no empty component and no leading zero pass', () => {
    expect(uidProblem('1.2.840.10008.5.1.4.1.1.4')).toBeUndefined();
    expect(uidProblem('2.25.0.10')).toBeUndefined();
    expect(uidProblem(`1.${'2'.repeat(62)}`)).toBeUndefined();
    expect(uidProblem(`1.${'2'.repeat(63)}`)).toMatch(/65 characters/);
    expect(uidProblem('ABC.DEF')).toMatch(/digits/);
    expect(uidProblem('1.02.3')).toMatch(/leading zero/);
    expect(uidProblem('1..3')).toMatch(/empty component/);
    expect(uidProblem('.')).toMatch(/empty component/);
    expect(uidProblem('')).toMatch(/empty/);
  });

  it('when two studies carry the invalid UIDs "ABC.DEF" and "XYZ.QRS", then the folder index refuses both files (BAD_DICOM) and no study is formed', async () => {
    writeWithPydicom(dir, [
      ['ABC.DEF', 'ABC.DEF.1', 'ABC.DEF.1.1'],
      ['XYZ.QRS', 'XYZ.QRS.1', 'XYZ.QRS.1.1'],
    ]);
    const index = new FolderIndex(dir);
    await index.scan();
    expect(index.studyUids()).toEqual([]);
    expect(index.fileProblems().map((p) => [p.code, p.message])).toEqual([
      ['BAD_DICOM', expect.stringMatching(/^StudyInstanceUID is not a valid DICOM UID/)],
      ['BAD_DICOM', expect.stringMatching(/^StudyInstanceUID is not a valid DICOM UID/)],
    ]);
    // The reason never quotes the value.
    expect(JSON.stringify(index.fileProblems())).not.toMatch(/ABC|XYZ/);
  });

  it('when an invalid UID would normalise onto a valid one ("1.2.3a" vs "1.2.3"), then only the valid file is indexed', async () => {
    writeWithPydicom(dir, [
      ['1.2.3', '1.2.3.1', '1.2.3.1.1'],
      ['1.2.3', '1.2.3.1', '1.2.3.1.1a'],
      ['1.2.3', '1.2.03.1', '1.2.3.1.2'],
    ]);
    const index = new FolderIndex(dir);
    await index.scan();
    expect(index.studyUids()).toEqual(['1.2.3']);
    expect(index.getStudy('1.2.3').series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid))).toEqual(['1.2.3.1.1']);
    expect(index.fileProblems().map((p) => p.message)).toEqual([
      expect.stringMatching(/^SOPInstanceUID is not a valid DICOM UID: it has characters/),
      expect.stringMatching(/^SeriesInstanceUID is not a valid DICOM UID: a component has a leading zero/),
    ]);
  });

  it('when an instance with an invalid SOP Instance UID is pushed (STOW-RS / C-STORE store), then it is refused as unreadable', async () => {
    const [file] = writeWithPydicom(dir, [['1.2.3', '1.2.3.1', 'XYZ.QRS']]);
    const store = new ReceivedStore(path.join(dir, 'received'), { maxInstanceBytes: 1 << 24, logger: silentLogger });
    await store.init();
    await expect(store.commitBytes(new Uint8Array(readFileSync(file as string)), { source: 'stow' })).rejects.toMatchObject({
      reason: 'unreadable',
      code: 'BAD_DICOM',
      message: expect.stringMatching(/SOPInstanceUID is not a valid DICOM UID/),
    });
    expect(() => readPart10(new Uint8Array(readFileSync(file as string)))).toThrow(AppError);
  });

  it('when an intake reports a study by invalid UIDs (Orthanc, QIDO: text, not files), then routing refuses it and creates no job', async () => {
    const jobs = new MemoryJobStore();
    const study = (studyUid: string, sop: string): StudyInfo => ({
      studyInstanceUid: studyUid,
      series: [{ seriesInstanceUid: '1.2.3.1', modality: 'MR', instances: [{ sopInstanceUid: sop, sopClassUid: '1.2.840.10008.5.1.4.1.1.4' }] }],
    });
    const event = (uid: string) => ({ studyInstanceUid: uid, source: 'orthanc', receivedAt: new Date().toISOString() });
    await expect(routeKnownStudy(event('ABC.DEF'), study('ABC.DEF', '1.2.3.1.1'), { jobs, models: [], logger: silentLogger })).rejects.toMatchObject({ code: 'BAD_DICOM' });
    await expect(routeKnownStudy(event('1.2.3'), study('1.2.3', '1.2.3.1.01'), { jobs, models: [], logger: silentLogger })).rejects.toMatchObject({
      code: 'BAD_DICOM',
      message: expect.stringMatching(/SOPInstanceUID/),
    });
    expect(await jobs.list({ limit: 10 })).toEqual([]);
  });
});
