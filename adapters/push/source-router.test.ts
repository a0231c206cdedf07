import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPart10, str } from '../../src/dicom/part10';
import { silentLogger } from '../../src/logging';
import { FolderImagingSource } from '../folder/folder-imaging-source';
import { FolderIndex } from '../folder/folder-index';
import { routeSources } from './index';
import type { PushIntake } from './index';
import { ReceivedStore } from './received-store';

const SAMPLE = readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'sample-mr', 'dicom', 'IM0001.dcm'));
const ds = readPart10(SAMPLE).dataset;
const [study, series, sop] = ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'].map((k) => str(ds, k) as string) as [string, string, string];

describe('routeSources (pushed jobs read the received files, others the PACS)', () => {
  it('when the origin is stow or dimse, then the received files answer; otherwise the PACS source (here an empty folder) does', async () => {
    const store = new ReceivedStore(mkdtempSync(path.join(tmpdir(), 'router-')), { maxInstanceBytes: 1 << 24, logger: silentLogger });
    await store.init();
    await store.commitBytes(SAMPLE, { source: 'stow' });
    await store.index.scan();
    const pacs = new FolderImagingSource(new FolderIndex(mkdtempSync(path.join(tmpdir(), 'pacs-'))));
    const push = { source: new FolderImagingSource(store.index) } as Pick<PushIntake, 'source'> as PushIntake;
    const source = routeSources(pacs, push);

    for (const origin of [{ source: 'stow' }, { source: 'dimse' }]) {
      expect((await source.getStudy(study, origin)).series[0]?.instances).toHaveLength(1);
      const [bytes] = await source.retrieveInstances(study, series, [sop], origin);
      expect(Buffer.from(bytes as Uint8Array).equals(SAMPLE)).toBe(true);
    }
    await expect(source.getStudy(study, { source: 'orthanc' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(source.retrieveInstances(study, series, [sop])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('when no push intake is configured, then the PACS source is used as it is', () => {
    const pacs = new FolderImagingSource(new FolderIndex(tmpdir()));
    expect(routeSources(pacs, undefined)).toBe(pacs);
  });
});
