/**
 * Numbers that are not numbers: a rescale that overflows (RescaleSlope 1e308), a voxel size of 0, NaN model inputs
 * or findings. They used to "succeed" with "Brain: 0.0 mL" or NaN %; each must fail the job with a clear error
 * instead, through the real pipeline where a real file can cause it (`run` on real files, the bundled models).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFolder, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { buildVolume } from '../../src/dicom/volume';
import { IMPLEMENTATION, readPart10, writePart10 } from '../../src/dicom/part10';
import { assertFiniteFindings, assertFiniteModelInput } from '../../src/domain/finite';
import { sampleStudyCopy } from '../support/sample-study';

const ROOT = path.join(__dirname, '..', '..');

/** A sample study copy with `change` applied to every slice's dataset. */
function study(name: string, change: (ds: Record<string, unknown>) => void, slices = 20): Uint8Array[] {
  return sampleStudyCopy(name, { slices }).files.map((bytes) => {
    const ds = readPart10(bytes).dataset as Record<string, unknown>;
    change(ds);
    return writePart10(ds as never, IMPLEMENTATION);
  });
}

async function run(files: Uint8Array[]): Promise<RunLine[]> {
  const input = mkdtempSync(path.join(tmpdir(), 'numeric-in-'));
  const output = mkdtempSync(path.join(tmpdir(), 'numeric-out-'));
  try {
    mkdirSync(path.join(input, 's'));
    files.forEach((b, i) => writeFileSync(path.join(input, 's', `${i}.dcm`), b));
    const config = loadConfig({ env: {}, overrides: { modelsDir: path.join(ROOT, 'models'), logLevel: 'silent' } });
    return (await runFolder(input, output, config, () => undefined)).lines;
  } finally {
    rmSync(input, { recursive: true, force: true });
    rmSync(output, { recursive: true, force: true });
  }
}

describe('numeric sanity', () => {
  it('when RescaleSlope is 1e308, then every job fails with BAD_DICOM naming the rescale, and no result is written', async () => {
    const lines = await run(study('slope-1e308', (ds) => void (ds.RescaleSlope = '1e308')));
    expect(lines.map((l) => l.model).sort()).toEqual(['brain-mask-2d', 'mr-plane-classifier']);
    for (const l of lines) {
      expect(l).toMatchObject({ status: 'failed', error: { code: 'BAD_DICOM', message: expect.stringMatching(/not finite after the modality rescale/) } });
      expect(l.report).toBeUndefined();
    }
  });

  it('when the one slice of a series has SliceThickness 0, then the volume is refused (GEOMETRY) instead of measuring 0 mL', () => {
    const [one] = study('thin', (ds) => {
      ds.SliceThickness = '0';
      delete ds.SpacingBetweenSlices;
    }, 1);
    expect(() => buildVolume([readPart10(one as Uint8Array)])).toThrow(expect.objectContaining({ code: 'GEOMETRY', message: expect.stringMatching(/voxel size .* is not usable/) }));
  });

  it('when a model input is NaN after preprocessing, then it is refused before inference', () => {
    expect(() => assertFiniteModelInput(Float32Array.from([0, 1, Number.NaN, Infinity]), 'm')).toThrow(expect.objectContaining({ code: 'BAD_DICOM', message: expect.stringMatching(/2 of 4 values/) }));
    expect(() => assertFiniteModelInput(Float32Array.from([0, 1]), 'm')).not.toThrow();
  });

  it('when findings carry a NaN volume or probability, then they are refused before anything is written', () => {
    const seg = { kind: 'segmentation' as const, segSeriesInstanceUid: '1.2', segSopInstanceUid: '1.3', segSopClassUid: '1.4', segSeriesNumber: 1 };
    const segment = { segmentNumber: 1, labelValue: 1, label: 'Brain', type: { value: 'c', scheme: 'SCT', meaning: 'd' }, voxelCount: 10 };
    expect(() => assertFiniteFindings({ ...seg, segments: [{ ...segment, volumeMl: Number.NaN }] })).toThrow(expect.objectContaining({ code: 'GEOMETRY' }));
    expect(() => assertFiniteFindings({ ...seg, segments: [{ ...segment, volumeMl: 1.5 }] })).not.toThrow();
    const cls = { label: 'Axial', code: { value: 'c', scheme: 'SCT', meaning: 'd' }, threshold: 0.5, present: false };
    expect(() => assertFiniteFindings({ kind: 'classification', classes: [{ ...cls, probability: Number.NaN }] })).toThrow(expect.objectContaining({ code: 'INFERENCE_FAILED' }));
  });
});
