/**
 * Acceptance test of the brain-extraction reference model (issue #6): a double-oblique 2 mm series cut from Colin27
 * (20° about x and 20° about y, a tilt the training script holds out) goes through the CLI `run` path; the SEG is
 * decoded and compared with ch2bet > 0 sampled (nearest) on the same grid.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNifti } from '../../src/synth/nifti';
import { resampleLabelsToSeries } from '../../src/synth/series';
import { dice, runHeldOutSeries, segLabelVolume } from '../support/held-out-series';

const ROOT = path.join(__dirname, '..', '..');
const CH2BET = '/usr/share/mricron/templates/ch2bet.nii.gz';
const MODEL_ID = 'brain-mask-2d';

/** A models folder holding only the brain-extraction model, so the run does not spend time on the classifier. */
function modelsWithBrainMaskOnly(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dice-models-'));
  const target = path.join(dir, MODEL_ID);
  mkdirSync(target);
  for (const f of ['manifest.json', 'model.onnx']) copyFileSync(path.join(ROOT, 'models', MODEL_ID, f), path.join(target, f));
  return dir;
}

describe('brain extraction on a held-out double-oblique 2 mm series', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'dice-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('when the series runs through the CLI pipeline, then the SEG matches ch2bet with Dice ≥ 0.90', async () => {
    const run = await runHeldOutSeries(work, modelsWithBrainMaskOnly(), { patientName: 'DICE^TEST', patientId: 'DICE-1', uidSeed: 'brain-extraction-dice' });
    const truth = resampleLabelsToSeries(readNifti(readFileSync(CH2BET)), run.geometry);
    expect(run.lines.map((l) => [l.model, l.status])).toEqual([[MODEL_ID, 'succeeded']]);

    const { rows, columns, slices } = run.geometry;
    expect([Number(run.seg.Rows), Number(run.seg.Columns)]).toEqual([rows, columns]);
    const predicted = segLabelVolume(run, (segmentNumber) => (segmentNumber === 1 ? 1 : undefined));

    const score = dice(predicted, truth.data, 1);
    const voxelMl = (2 * 2 * 2) / 1000;
    const count = (m: Uint8Array): number => m.reduce((n, v) => n + (v === 1 ? 1 : 0), 0);
    console.log(
      `brain-mask-2d on ${columns}×${rows}×${slices} axial series tilted 20°/20° (x/y), 2 mm: Dice ${score.toFixed(4)}, ` +
        `predicted ${(count(predicted) * voxelMl).toFixed(0)} mL, truth ${(count(truth.data) * voxelMl).toFixed(0)} mL`,
    );
    expect(score).toBeGreaterThanOrEqual(0.9);
  }, 120_000);
});
