/**
 * The CLI `run` path on real files: the bundled sample study plus a shuffled sagittal Colin27 series, with a
 * non-DICOM file and a truncated DICOM file mixed in.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { runFolder, type FileErrorLine, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { nums, readPart10, str } from '../../src/dicom/part10';
import { readNifti } from '../../src/synth/nifti';
import { makeSeries } from '../../src/synth/series';
import { segFrameRefs } from '../support/seg-geometry';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';

const BAD_DIR = 'SMITH^JOHN 19700101';

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function sampleFiles(): string[] {
  return readdirSync(SAMPLE).filter((f) => f.endsWith('.dcm')).map((f) => path.join(SAMPLE, f));
}

describe('clinical-ai run (folder in, folder out)', () => {
  const input = mkdtempSync(path.join(tmpdir(), 'cli-in-'));
  const output = mkdtempSync(path.join(tmpdir(), 'cli-out-'));
  let lines: RunLine[] = [];
  const printed: string[] = [];
  let fileErrors = 0;
  let sagittalStudy = '';
  const sagittal: Uint8Array[] = [];

  beforeAll(async () => {
    // Sample study, nested and renamed so neither names nor folders carry meaning.
    sampleFiles().forEach((f, i) => {
      const dir = path.join(input, 'sample', `d${i % 3}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(f, path.join(dir, `x${(i * 37) % 101}`));
    });
    // A sagittal series with shuffled files and InstanceNumbers.
    sagittal.push(
      ...makeSeries(readNifti(readFileSync(CH2)), {
        plane: 'sagittal',
        spacingMm: 3,
        patient: { name: 'SAGITTAL^TEST', id: 'SAG-1', birthDate: '19700101', sex: 'O' },
        seriesDescription: 'T1 sagittal',
        uidSeed: 'cli-run-sagittal',
        shuffleSeed: 7,
      }),
    );
    sagittalStudy = str(readPart10(sagittal[0] as Uint8Array).dataset, 'StudyInstanceUID') ?? '';
    mkdirSync(path.join(input, 'sag'));
    sagittal.forEach((b, i) => writeFileSync(path.join(input, 'sag', `s${i}.dcm`), b));
    // Bad input: a text file and a DICOM file cut in its pixel data (from a third study), in a folder named as
    // sites often name them: after the patient.
    mkdirSync(path.join(input, BAD_DIR));
    writeFileSync(path.join(input, BAD_DIR, 'notes.txt'), 'not a DICOM file\n');
    const other = makeSeries(readNifti(readFileSync(CH2)), {
      plane: 'axial',
      spacingMm: 8,
      patient: { name: 'TRUNC^TEST', id: 'TR-1', birthDate: '19700101', sex: 'O' },
      seriesDescription: 'truncated',
      uidSeed: 'cli-run-truncated',
    })[0] as Uint8Array;
    writeFileSync(path.join(input, BAD_DIR, 'truncated.dcm'), other.subarray(0, other.length - 500));

    const config = loadConfig({ env: {}, overrides: { modelsDir: path.join(ROOT, 'models'), logLevel: 'silent' } });
    const r = await runFolder(input, output, config, (l) => printed.push(l));
    lines = r.lines;
    fileErrors = r.fileErrors;
  });

  it('when a file is not DICOM or is truncated, then each gets its own error line, by index and ref, and the count is reported', () => {
    const errors = printed.map((l) => JSON.parse(l) as FileErrorLine).filter((l) => l.status === 'error');
    expect(fileErrors).toBe(2);
    const byRef = new Map(errors.map((e) => [e.fileRef, e]));
    const all = listFiles(input);
    for (const name of ['notes.txt', 'truncated.dcm']) {
      const file = path.join(input, BAD_DIR, name);
      const ref = createHash('sha256').update(`${BAD_DIR}/${name}`).digest('hex').slice(0, 12);
      // The index is the file's place in the sorted list of paths: a user finds it with `LC_ALL=C sort`.
      expect(byRef.get(ref)?.fileIndex).toBe(all.indexOf(file) + 1);
    }
    const [notes, truncated] = ['notes.txt', 'truncated.dcm'].map((n) => byRef.get(createHash('sha256').update(`${BAD_DIR}/${n}`).digest('hex').slice(0, 12)));
    expect(notes?.error.message).toMatch(/not a DICOM Part 10 file/);
    expect(truncated?.error).toMatchObject({ code: 'BAD_DICOM', message: expect.stringMatching(/truncated/) });
  });

  it('when files fail, then no printed line carries an input path or the patient name in it', () => {
    const out = printed.join('\n');
    expect(out).not.toContain(input);
    expect(out).not.toContain('SMITH');
    expect(out).not.toContain('"file"');
  });

  it('when --show-paths is given, then the error lines carry the real path too', async () => {
    const only = mkdtempSync(path.join(tmpdir(), 'cli-in-paths-'));
    writeFileSync(path.join(only, 'notes.txt'), 'not a DICOM file\n');
    const config = loadConfig({ env: {}, overrides: { modelsDir: path.join(ROOT, 'models'), logLevel: 'silent' } });
    const shown: string[] = [];
    await runFolder(only, mkdtempSync(path.join(tmpdir(), 'cli-out-paths-')), config, (l) => shown.push(l), { showPaths: true });
    expect(shown.map((l) => JSON.parse(l) as FileErrorLine)).toEqual([expect.objectContaining({ fileIndex: 1, file: path.join(only, 'notes.txt'), status: 'error' })]);
  });

  it('when good studies sit beside bad files, then every (study, model) pair still succeeds', () => {
    const ok = lines.filter((l) => l.status === 'succeeded');
    expect(lines.filter((l) => l.status === 'failed')).toEqual([]);
    expect(ok).toHaveLength(4); // 2 studies × 2 models
    for (const l of ok) {
      expect(existsSync(l.report as string)).toBe(true);
      const bundle = JSON.parse(readFileSync(l.report as string, 'utf8')) as Bundle;
      expect(bundle.type).toBe('transaction');
      expect(bundle.entry?.some((e) => e.resource?.resourceType === 'DiagnosticReport')).toBe(true);
    }
    const segs = ok.filter((l) => l.model === 'brain-mask-2d');
    expect(segs.every((l) => l.seg && existsSync(l.seg))).toBe(true);
  });

  it('when the series is sagittal and shuffled, then every SEG frame sits at the position of the source it references', () => {
    const line = lines.find((l) => l.study === sagittalStudy && l.model === 'brain-mask-2d');
    const seg = readPart10(new Uint8Array(readFileSync(line?.seg as string))).dataset;
    const sourceIpp = new Map(sagittal.map((b) => {
      const ds = readPart10(b).dataset;
      return [str(ds, 'SOPInstanceUID') as string, nums(ds, 'ImagePositionPatient', 3) as number[]];
    }));
    const refs = segFrameRefs(seg);
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) {
      const expected = sourceIpp.get(r.referencedSopInstanceUid);
      expect(expected).toBeDefined();
      r.imagePositionPatient.forEach((v, d) => expect(v).toBeCloseTo((expected as number[])[d] as number, 4));
    }
  });

  it('when the sample is classified, then the plane classifier says axial and the sagittal series sagittal', () => {
    const sample = lines.find((l) => l.study !== sagittalStudy && l.model === 'mr-plane-classifier');
    const sag = lines.find((l) => l.study === sagittalStudy && l.model === 'mr-plane-classifier');
    expect(sample?.summary).toMatch(/Axial[^;]*\(present\)/i);
    expect(sag?.summary).toMatch(/Sagittal[^;]*\(present\)/i);
  });
});

describe('clinical-ai demo (built CLI, no PACS, no FHIR server)', () => {
  it('when run from a fresh working directory, then it exits 0 and prints where the SEG and the report are', () => {
    const bin = path.join(ROOT, 'bin', 'clinical-ai.js');
    if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npm run build` (npm test does)');
    const cwd = mkdtempSync(path.join(tmpdir(), 'demo-'));
    const r = spawnSync(process.execPath, [bin, 'demo'], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CLINICAL_AI_LOG_LEVEL: 'warn' } });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const seg = /DICOM SEG:\s+(\S+)/.exec(r.stdout)?.[1];
    const report = /FHIR Bundle:\s+(\S+)/.exec(r.stdout)?.[1];
    expect(seg && existsSync(seg)).toBeTruthy();
    expect(report && existsSync(report)).toBeTruthy();
    expect(seg?.startsWith(cwd)).toBe(true);
  });
});
