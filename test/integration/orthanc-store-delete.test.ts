/** OrthancImagingStore.deleteInstance against a real Orthanc: superseded SEGs are removed through Orthanc's REST API. */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createOrthancSource } from '../../adapters/orthanc';
import { OrthancImagingStore } from '../../adapters/orthanc/orthanc-store';
import { readPart10, str } from '../../src/dicom/part10';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';

const SAMPLE_DIR = path.join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom');

describe('OrthancImagingStore.deleteInstance (real Orthanc)', () => {
  let orthanc: TestOrthanc;
  let store: OrthancImagingStore;
  const file = new Uint8Array(readFileSync(path.join(SAMPLE_DIR, readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.dcm')).sort()[0] as string)));
  const ds = readPart10(file).dataset;
  const [study, series, sop] = ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'].map((k) => str(ds, k) as string) as [string, string, string];
  const present = async (): Promise<boolean> => {
    const r = await fetch(`${orthanc.baseUrl}/tools/lookup`, { method: 'POST', body: sop, headers: { Authorization: orthanc.authorization } });
    return ((await r.json()) as unknown[]).length > 0;
  };

  beforeAll(async () => {
    orthanc = await startOrthanc();
    const auth = { username: orthanc.username, password: orthanc.password };
    store = new OrthancImagingStore(createOrthancSource({ baseUrl: orthanc.baseUrl, auth }), { baseUrl: orthanc.baseUrl, auth });
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('when an instance stored by STOW is deleted, then it is gone, and deleting again answers false', async () => {
    expect((await store.store(study, [file])).stored).toEqual([sop]);
    expect(await present()).toBe(true);
    expect(await store.deleteInstance(study, series, sop)).toBe(true);
    expect(await present()).toBe(false);
    expect(await store.deleteInstance(study, series, sop)).toBe(false);
  });

  it('when the SOP Instance UID is found under another series, then nothing is deleted', async () => {
    await store.store(study, [file]);
    expect(await store.deleteInstance(study, `${series}.9`, sop)).toBe(false);
    expect(await present()).toBe(true);
  });

  it('when Orthanc refuses the credentials, then the error is a clear PACS_REJECTED', async () => {
    const wrong = new OrthancImagingStore(createOrthancSource({ baseUrl: orthanc.baseUrl }), { baseUrl: orthanc.baseUrl, auth: { username: 'x', password: 'y' } });
    await expect(wrong.deleteInstance(study, series, sop)).rejects.toMatchObject({ code: 'PACS_REJECTED', message: expect.stringContaining('HTTP 401') });
  });
});
