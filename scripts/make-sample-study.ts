/**
 * Regenerates the bundled sample study (test/fixtures/sample-mr/dicom/) from the Colin27 T1 template shipped by Debian's
 * mricron-data package. Deterministic: the same template gives byte-identical files.
 *
 *   npx ts-node --transpile-only scripts/make-sample-study.ts [template.nii.gz] [out-dir]
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readNifti } from '../src/synth/nifti';
import { makeSeries } from '../src/synth/series';

const DEFAULT_TEMPLATE = '/usr/share/mricron/templates/ch2.nii.gz';
// Works from scripts/ (ts-node) and from dist/scripts/ (after npm run build).
const REPO_ROOT = basename(dirname(__dirname)) === 'dist' ? resolve(__dirname, '..', '..') : resolve(__dirname, '..');
const DEFAULT_OUT = join(REPO_ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');

function main(): void {
  const template = process.argv[2] ?? DEFAULT_TEMPLATE;
  const outDir = process.argv[3] ?? DEFAULT_OUT;
  const volume = readNifti(new Uint8Array(readFileSync(template)));
  // 128 × 128 at 2 mm covers the 181 × 217 mm head; 91 slices at 2 mm cover its 181 mm height (≈ 3 MB in all).
  const files = makeSeries(volume, {
    plane: 'axial',
    spacingMm: 2,
    rows: 128,
    columns: 128,
    modality: 'MR',
    patient: { name: 'CLINICAL-AI^DEMO', id: 'DEMO-0001', birthDate: '19700101', sex: 'O' },
    seriesDescription: 'T1 AX 2mm (synthetic, Colin27)',
    bodyPart: 'HEAD',
    uidSeed: 'clinical-ai sample study v1',
  });
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith('.dcm')) rmSync(join(outDir, f));
  files.forEach((bytes, n) => writeFileSync(join(outDir, `IM${String(n + 1).padStart(4, '0')}.dcm`), bytes));
  const total = files.reduce((sum, f) => sum + f.length, 0);
  process.stdout.write(`wrote ${files.length} files (${(total / 1e6).toFixed(2)} MB) to ${outDir}\n`);
}

main();
