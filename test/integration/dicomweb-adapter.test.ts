import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { api } from 'dicomweb-client';
import XMLHttpRequest from 'xhr2';
import { DicomWebAdapter } from '../../adapters/dicomweb/dicomweb-adapter';
import { createOrthancSource } from '../../adapters/orthanc/orthanc-source';
import { IMPLEMENTATION, IMPLICIT_VR_LITTLE_ENDIAN, num, readPart10, str } from '../../src/dicom/part10';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { MR_IMAGE_STORAGE, syntheticMrSeries, type SyntheticSeries } from '../support/synthetic-mr';
import { rejected } from '../support/app-error';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

let orthanc: TestOrthanc;
let series: SyntheticSeries;
let adapter: DicomWebAdapter;


/** A QIDO search done with the library directly, as an independent check of what Orthanc holds. */
async function qidoInstances(studyUid: string): Promise<string[]> {
  const client = new api.DICOMwebClient({ url: orthanc.dicomWebUrl, headers: { Authorization: orthanc.authorization }, verbose: false, singlepart: false });
  const search = client as unknown as { searchForInstances(o: object): Promise<Record<string, { Value?: string[] }>[] | undefined> };
  const found = (await search.searchForInstances({ studyInstanceUID: studyUid, request: { instance: new XMLHttpRequest() } })) ?? [];
  return found.map((ds) => ds['00080018']?.Value?.[0] ?? '');
}

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 60 });
  series = syntheticMrSeries({ slices: 3 });
  for (const file of series.files) await orthanc.upload(file);
  adapter = createOrthancSource({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: orthanc.password } });
});

afterAll(async () => {
  await orthanc?.stop();
});

describe('DICOMweb adapter against a real Orthanc', () => {
  it('when the study is read, then series and instances are mapped with numeric IPP/IOP', async () => {
    const study = await adapter.getStudy(series.studyInstanceUid);
    expect(study.studyInstanceUid).toBe(series.studyInstanceUid);
    expect(study.patientName).toBe('Synthetic^Patient');
    expect(study.studyDate).toBe('20240102');
    expect(study.series).toHaveLength(1);
    const s = study.series[0]!;
    expect(s).toMatchObject({ seriesInstanceUid: series.seriesInstanceUid, modality: 'MR', seriesNumber: 7, imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'], bodyPartExamined: 'BRAIN' });
    expect(s.instances.map((i) => i.sopInstanceUid)).toEqual(series.sopInstanceUids);
    expect(s.instances.map((i) => i.imagePositionPatient)).toEqual(series.positions);
    expect(s.instances[0]).toMatchObject({ imageOrientationPatient: [1, 0, 0, 0, 1, 0], rows: 16, columns: 16, instanceNumber: 1, sopClassUid: MR_IMAGE_STORAGE });
  });

  it('when a study is unknown, then NOT_FOUND', async () => {
    const err = await rejected(adapter.getStudy('1.2.3.4.5.6.7.8.9'));
    expect(err.code).toBe('NOT_FOUND');
  });

  it('when the three instances are retrieved, then each is parsable Part 10 with its pixels', async () => {
    const reversed = [...series.sopInstanceUids].reverse();
    const files = await adapter.retrieveInstances(series.studyInstanceUid, series.seriesInstanceUid, reversed);
    expect(files).toHaveLength(3);
    files.forEach((bytes, k) => {
      const parsed = readPart10(bytes);
      expect(str(parsed.dataset, 'SOPInstanceUID')).toBe(reversed[k]);
      const slice = num(parsed.dataset, 'InstanceNumber')!;
      const pixels = new Uint16Array((parsed.dataset.PixelData as ArrayBuffer[])[0]!);
      expect(pixels[0]).toBe(100 * slice);
    });
  });

  it('when an instance is stored as Implicit VR, then retrieval returns it untranscoded (transfer-syntax=*)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'implicit-'));
    try {
      const extra = syntheticMrSeries({ slices: 1, studyInstanceUid: series.studyInstanceUid });
      writeFileSync(join(dir, 'in.dcm'), extra.files[0]!);
      execFileSync('dcmconv', ['+ti', join(dir, 'in.dcm'), join(dir, 'out.dcm')]);
      await orthanc.upload(new Uint8Array(readFileSync(join(dir, 'out.dcm'))));
      const [bytes] = await adapter.retrieveInstances(extra.studyInstanceUid, extra.seriesInstanceUid, extra.sopInstanceUids);
      expect(readPart10(bytes!).transferSyntaxUid).toBe(IMPLICIT_VR_LITTLE_ENDIAN);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a requested instance does not exist, then the retrieval fails instead of returning a partial series', async () => {
    const err = await rejected(adapter.retrieveInstances(series.studyInstanceUid, series.seriesInstanceUid, [series.sopInstanceUids[0]!, '1.2.3.999']));
    expect(err.code).toBe('NOT_FOUND');
  });

  it('when a new instance is stored with STOW-RS, then Orthanc lists it (QIDO)', async () => {
    const extra = syntheticMrSeries({ slices: 1, studyInstanceUid: series.studyInstanceUid });
    const outcome = await adapter.store(series.studyInstanceUid, extra.files);
    expect(outcome.stored).toEqual(extra.sopInstanceUids);
    expect(await qidoInstances(series.studyInstanceUid)).toContain(extra.sopInstanceUids[0]);
  });

  it('when Orthanc rejects an instance (no SOPInstanceUID in the data set), then PACS_REJECTED, not retryable', async () => {
    const sop = DicomMetaDictionary.uid();
    const meta = DicomMetaDictionary.denaturalizeDataset({
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: MR_IMAGE_STORAGE,
      MediaStorageSOPInstanceUID: sop,
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
      ImplementationClassUID: IMPLEMENTATION.classUid,
    });
    const dict = new DicomDict(meta);
    dict.dict = DicomMetaDictionary.denaturalizeDataset({ SOPClassUID: MR_IMAGE_STORAGE, StudyInstanceUID: series.studyInstanceUid, Modality: 'MR' });
    const err = await rejected(adapter.store(series.studyInstanceUid, [new Uint8Array(dict.write())]));
    expect([err.code, err.retryable]).toEqual(['PACS_REJECTED', false]);
    expect(err.message).toMatch(/did not store 1 of 1 instance\(s\) \(HTTP 400\)/);
    expect(await qidoInstances(series.studyInstanceUid)).not.toContain(sop);
  });

  it('when the bytes to store are not DICOM, then BAD_DICOM before anything is sent', async () => {
    const err = await rejected(adapter.store(series.studyInstanceUid, [new Uint8Array([1, 2, 3])]));
    expect(err.code).toBe('BAD_DICOM');
  });

  it('when the password is wrong, then PACS_REJECTED with an authentication message for reads and writes', async () => {
    const wrong = createOrthancSource({ baseUrl: orthanc.baseUrl, auth: { username: orthanc.username, password: 'wrong' } });
    const read = await rejected(wrong.getStudy(series.studyInstanceUid));
    // Refused credentials are retryable (a rotated secret fixes them; the job is not lost) but never an outage.
    expect([read.code, read.retryable]).toEqual(['PACS_REJECTED', true]);
    expect(read.message).toMatch(/credentials \(HTTP 401\)/);
    const write = await rejected(wrong.store(series.studyInstanceUid, syntheticMrSeries({ slices: 1 }).files));
    expect(write.code).toBe('PACS_REJECTED');
    expect(write.message).toMatch(/credentials/);
  });

  it('when the PACS answers, then ping resolves; when nothing listens, then PACS_UNAVAILABLE and retryable', async () => {
    await expect(adapter.ping()).resolves.toBeUndefined();
    const down = new DicomWebAdapter({ url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 2000 });
    const err = await rejected(down.ping());
    expect([err.code, err.retryable]).toEqual(['PACS_UNAVAILABLE', true]);
    const retrieve = await rejected(down.retrieveInstances('1.2', '1.2.3', ['1.2.3.4']));
    expect(retrieve.code).toBe('PACS_UNAVAILABLE');
  });
});
