import { openSync, closeSync, fstatSync, readFileSync } from 'node:fs';
import { vetDicomBytes } from '../../src/dicom/vet';
import type { VetResult } from '../../src/ports/dicom-vetting';
import type { VetRequest, VetResponse } from './vetting-protocol';

/**
 * Entry of a vetting child process (child-process-vetter.ts): vets one file per message. Whatever a hostile file
 * does to the parser here (a V8 fatal error, the heap cap, an endless loop) ends this process only.
 */

function vet(req: VetRequest): VetResult {
  if (req.path !== undefined) {
    const fd = openSync(req.path, 'r');
    try {
      const { size } = fstatSync(fd);
      if (size > req.limits.maxInstanceBytes) return { ok: false, code: 'TOO_LARGE', message: `DICOM file of ${size} bytes exceeds the limit of ${req.limits.maxInstanceBytes}` };
      return vetDicomBytes(new Uint8Array(readFileSync(fd)), req.limits);
    } finally {
      closeSync(fd);
    }
  }
  return vetDicomBytes(req.bytes ?? new Uint8Array(0), req.limits);
}

process.on('message', (req: VetRequest) => {
  let result: VetResult;
  try {
    result = vet(req);
  } catch (err) {
    // The file could not be read (gone, permissions): not a parser problem, say so without the path.
    result = { ok: false, code: 'BAD_DICOM', message: `file could not be read for vetting (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const response: VetResponse = { id: req.id, result };
  process.send?.(response);
});
// Exit with the parent instead of lingering as an orphan.
process.on('disconnect', () => process.exit(0));
