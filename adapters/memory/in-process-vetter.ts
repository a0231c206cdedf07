import { readFile, stat } from 'node:fs/promises';
import { vetDicomBytes, type VetLimits } from '../../src/dicom/vet';
import type { DicomVetter, VetInput, VetResult } from '../../src/ports/dicom-vetting';

/**
 * DicomVetter that parses in the calling process: the twin for unit tests and in-memory wiring. It gives the same
 * answers as the child-process vetter for every file that does not take the parser down; one that does takes this
 * process with it, so the service never uses it for untrusted input.
 */
export class InProcessDicomVetter implements DicomVetter {
  constructor(private readonly limits: VetLimits) {}

  async vet(input: VetInput): Promise<VetResult> {
    if ('path' in input) {
      const { size } = await stat(input.path);
      if (size > this.limits.maxInstanceBytes) return { ok: false, code: 'TOO_LARGE', message: `DICOM file of ${size} bytes exceeds the limit of ${this.limits.maxInstanceBytes}` };
      return vetDicomBytes(new Uint8Array(await readFile(input.path)), this.limits);
    }
    return vetDicomBytes(input.bytes, this.limits);
  }

  async close(): Promise<void> {}
}
