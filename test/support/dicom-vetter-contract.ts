import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { VetLimits } from '../../src/dicom/vet';
import { IMPLEMENTATION, readPart10, writePart10 } from '../../src/dicom/part10';
import type { DicomVetter } from '../../src/ports/dicom-vetting';
import { deflateBomb, hugeHeaderFile, sampleFile } from './hostile-dicom';

/** Limits for contract runs: small enough that the deflate bomb is refused quickly, big enough for the sample. */
export const CONTRACT_LIMITS: VetLimits = { maxInstanceBytes: 64 * 1024 * 1024, maxVoxels: 400_000_000 };

/**
 * The behaviour every DicomVetter has for files that do not take the parser down (the child-process adapter adds
 * its own tests for those that do). `make` builds a fresh vetter with the given limits.
 */
export function dicomVetterContract(name: string, make: (limits: VetLimits) => DicomVetter): void {
  describe(`DicomVetter contract: ${name}`, () => {
    let vetter: DicomVetter;
    let dir: string;
    beforeAll(() => {
      vetter = make(CONTRACT_LIMITS);
      dir = mkdtempSync(path.join(tmpdir(), 'vet-contract-'));
    });
    afterAll(async () => {
      await vetter.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const file = (name: string, bytes: Uint8Array): string => {
      const p = path.join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };

    it('passes a good instance, given as bytes or as a path', async () => {
      expect(await vetter.vet({ bytes: sampleFile() })).toEqual({ ok: true });
      expect(await vetter.vet({ path: file('good.dcm', sampleFile()) })).toEqual({ ok: true });
    });

    it('passes a dataset without pixel data (reports, SEG headers are not images to size-check)', async () => {
      const ds = readPart10(sampleFile()).dataset;
      delete ds.PixelData;
      expect(await vetter.vet({ bytes: writePart10(ds, IMPLEMENTATION) })).toEqual({ ok: true });
    });

    it('refuses a file that is not DICOM and a truncated one as BAD_DICOM, not as fatal', async () => {
      const notDicom = await vetter.vet({ bytes: new Uint8Array(300) });
      expect(notDicom).toMatchObject({ ok: false, code: 'BAD_DICOM' });
      expect(notDicom).not.toHaveProperty('fatal');
      const cut = await vetter.vet({ path: file('cut.dcm', sampleFile().subarray(0, 20_000)) });
      expect(cut).toMatchObject({ ok: false, code: 'BAD_DICOM', message: expect.stringContaining('truncated') });
      expect(cut).not.toHaveProperty('fatal');
    });

    it('refuses a file over maxInstanceBytes by its size', async () => {
      const big = new Uint8Array(CONTRACT_LIMITS.maxInstanceBytes + 1);
      big.set(sampleFile());
      expect(await vetter.vet({ path: file('big.dcm', big) })).toMatchObject({ ok: false, code: 'TOO_LARGE' });
    });

    it('refuses a 65535 × 65535 × 65535 header as TOO_LARGE before allocating pixels', async () => {
      expect(await vetter.vet({ bytes: hugeHeaderFile() })).toMatchObject({ ok: false, code: 'TOO_LARGE', message: expect.stringContaining('65535×65535×65535') });
    });

    it('refuses native pixel data shorter than its header declares', async () => {
      const ds = readPart10(sampleFile()).dataset;
      ds.Rows = 256;
      expect(await vetter.vet({ bytes: writePart10(ds, IMPLEMENTATION) })).toMatchObject({ ok: false, code: 'BAD_DICOM', message: expect.stringContaining('pixel data holds') });
    });

    it('refuses a deflate bomb (Deflated Explicit VR LE, 3.9 MB inflating to 3.75 GB) as TOO_LARGE', async () => {
      const bomb = await deflateBomb();
      expect(bomb.length).toBeLessThan(5_000_000);
      const result = await vetter.vet({ path: file('bomb.dcm', bomb) });
      expect(result).toMatchObject({ ok: false, code: 'TOO_LARGE', message: expect.stringContaining('inflates past the limit') });
    });

    it('answers many requests at once, each with its own result', async () => {
      const good = sampleFile();
      const inputs = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? { bytes: new Uint8Array(200) } : { bytes: good }));
      const results = await Promise.all(inputs.map((input) => vetter.vet(input)));
      results.forEach((r, i) => expect(r.ok).toBe(i % 3 !== 0));
    });
  });
}
