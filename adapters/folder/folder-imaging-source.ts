import { readFile } from 'node:fs/promises';
import type { StudyInfo } from '../../src/domain/study';
import type { ImagingSource } from '../../src/ports/imaging-source';
import { withoutPath, type FolderIndex } from './folder-index';

/** ImagingSource over a folder of DICOM files (CLI input, demo, folder inbox). */
export class FolderImagingSource implements ImagingSource {
  constructor(private readonly index: FolderIndex) {}

  async getStudy(studyInstanceUid: string): Promise<StudyInfo> {
    return this.index.getStudy(studyInstanceUid);
  }

  async retrieveInstances(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUids: readonly string[]): Promise<Uint8Array[]> {
    const files = this.index.filesFor(studyInstanceUid, seriesInstanceUid, sopInstanceUids);
    try {
      return await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
    } catch (err) {
      throw withoutPath(err, 'cannot read an instance file of the series');
    }
  }

  async ping(): Promise<void> {}
}
