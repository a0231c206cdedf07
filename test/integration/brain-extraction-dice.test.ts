/**
 * Acceptance test of the brain-extraction reference model (issue #6): a double-oblique 2 mm series cut from Colin27
 * (20° about x and 20° about y, a tilt the training script holds out) goes through the CLI `run` path; the SEG is
 * decoded and compared with ch2bet > 0 sampled (nearest) on the same grid.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFolder, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { readPart10, str } from '../../src/dicom/part10';
import type { Vec3 } from '../../src/domain/study';
import { readNifti } from '../../src/synth/nifti';
import { makeSeries, planSeriesGeometry, resampleLabelsToSeries, type SeriesGeometryOptions } from '../../src/synth/series';
import { segFrameRefs, segPixelBytes, unpackSegFrame } from '../support/seg-geometry';

const ROOT = path.join(__dirname, '..', '..');
const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
const CH2BET = '/usr/share/mricron/templates/ch2bet.nii.gz';
const MODEL_ID = 'brain-mask-2d';

const HELD_OUT: SeriesGeometryOptions = { plane: 'axial', rotationDegrees: [20, 20, 0] as Vec3, spacingMm: 2 };

/** A models folder holding only the brain-extraction model, so the run does not spend time on the classifier. */
function modelsWithBrainMaskOnly(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dice-models-'));
  const target = path.join(dir, MODEL_ID);
  mkdirSync(target);
  for (const f of ['manifest.json', 'model.onnx']) copyFileSync(path.join(ROOT, 'models', MODEL_ID, f), path.join(target, f));
  return dir;
}

function dice(a: Uint8Array, b: Uint8Array): number {
  let both = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === 1 ? 1 : 0;
    const y = b[i] === 1 ? 1 : 0;
    both += x & y;
    sum += x + y;
  }
  return sum === 0 ? 1 : (2 * both) / sum;
}

describe('brain extraction on a held-out double-oblique 2 mm series', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'dice-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('when the series runs through the CLI pipeline, then the SEG matches ch2bet with Dice ≥ 0.90', async () => {
    const t1 = readNifti(readFileSync(CH2));
    const files = makeSeries(t1, {
      ...HELD_OUT,
      patient: { name: 'DICE^TEST', id: 'DICE-1', birthDate: '19700101', sex: 'O' },
      seriesDescription: 'T1 double oblique 2 mm',
      uidSeed: 'brain-extraction-dice',
    });
    const input = path.join(work, 'in');
    mkdirSync(input);
    files.forEach((b, i) => writeFileSync(path.join(input, `${i}.dcm`), b));
    // Without a shuffle, file k is spatial slice k (along the normal), the order of resampleLabelsToSeries.
    const sliceOfSop = new Map(files.map((b, k) => [str(readPart10(b).dataset, 'SOPInstanceUID') as string, k]));

    const geometry = planSeriesGeometry(t1, HELD_OUT);
    const truth = resampleLabelsToSeries(readNifti(readFileSync(CH2BET)), geometry);

    const config = loadConfig({ env: {}, overrides: { modelsDir: modelsWithBrainMaskOnly(), logLevel: 'silent' } });
    const { lines } = await runFolder(input, path.join(work, 'out'), config, () => undefined);
    expect(lines.map((l) => [l.model, l.status])).toEqual([[MODEL_ID, 'succeeded']]);

    const seg = readPart10(new Uint8Array(readFileSync((lines[0] as RunLine).seg as string))).dataset;
    const { rows, columns, slices } = geometry;
    expect([Number(seg.Rows), Number(seg.Columns)]).toEqual([rows, columns]);
    const predicted = new Uint8Array(rows * columns * slices);
    const pixels = segPixelBytes(seg);
    for (const ref of segFrameRefs(seg)) {
      const k = sliceOfSop.get(ref.referencedSopInstanceUid);
      if (k === undefined) throw new Error(`SEG frame ${ref.frame} references an unknown instance`);
      predicted.set(unpackSegFrame(pixels, ref.frame, rows, columns), k * rows * columns);
    }

    const score = dice(predicted, truth.data);
    const voxelMl = (2 * 2 * 2) / 1000;
    const count = (m: Uint8Array): number => m.reduce((n, v) => n + (v === 1 ? 1 : 0), 0);
    console.log(
      `brain-mask-2d on ${columns}×${rows}×${slices} axial series tilted 20°/20° (x/y), 2 mm: Dice ${score.toFixed(4)}, ` +
        `predicted ${(count(predicted) * voxelMl).toFixed(0)} mL, truth ${(count(truth.data) * voxelMl).toFixed(0)} mL`,
    );
    expect(score).toBeGreaterThanOrEqual(0.9);
  }, 120_000);
});
