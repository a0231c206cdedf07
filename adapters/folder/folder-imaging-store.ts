import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readPart10, str } from '../../src/dicom/part10';
import { AppError } from '../../src/domain/errors';
import type { ImagingStore, StoreOutcome } from '../../src/ports/imaging-store';

/**
 * Writes result instances as `<dir>/<StudyInstanceUID>/<SOPInstanceUID>.dcm`. The name comes from the
 * deterministic SOP Instance UID, so a retry replaces the file; writes go through a temp file and a rename so a
 * reader never sees half a file.
 */
export class FolderImagingStore implements ImagingStore {
  constructor(private readonly dir: string) {}

  async store(studyInstanceUid: string, instances: readonly Uint8Array[]): Promise<StoreOutcome> {
    const studyDir = path.join(this.dir, studyInstanceUid);
    await mkdir(studyDir, { recursive: true });
    const stored: string[] = [];
    let location: string | undefined;
    for (const bytes of instances) {
      const sop = str(readPart10(bytes).dataset, 'SOPInstanceUID');
      if (!sop || !/^[0-9.]+$/.test(sop)) throw new AppError('PACS_REJECTED', 'instance to store has no valid SOPInstanceUID');
      const file = path.join(studyDir, `${sop}.dcm`);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
      stored.push(sop);
      location = file;
    }
    return location ? { stored, location } : { stored };
  }

  /** Removes the file of a superseded result; a missing file means an earlier attempt already did. */
  async deleteInstance(studyInstanceUid: string, _seriesInstanceUid: string, sopInstanceUid: string): Promise<boolean> {
    if (!/^[0-9.]+$/.test(studyInstanceUid) || !/^[0-9.]+$/.test(sopInstanceUid)) {
      throw new AppError('BAD_REQUEST', 'instance to delete has no valid Study/SOP Instance UID');
    }
    try {
      await unlink(path.join(this.dir, studyInstanceUid, `${sopInstanceUid}.dcm`));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new AppError('PACS_UNAVAILABLE', `cannot delete a superseded result file: ${(err as Error).message}`, { cause: err });
    }
  }

  async ping(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }
}
