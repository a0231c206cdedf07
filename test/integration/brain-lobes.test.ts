/**
 * Acceptance test of the optional lobe parcellation model (issue #6): a double-oblique 2 mm series cut from Colin27
 * (20° about x and 20° about y, a tilt band the training script holds out) goes through the CLI `run` path with
 * `--models models/optional`; the BINARY SEG is decoded into a label map and compared, lobe by lobe, with the
 * training truth (AAL regions grouped into lobes inside ch2bet, truth-lobes.nii.gz) sampled nearest on the same grid.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import { str } from '../../src/dicom/part10';
import { readNifti } from '../../src/synth/nifti';
import { resampleLabelsToSeries } from '../../src/synth/series';
import { dice, runHeldOutSeries, segLabelVolume } from '../support/held-out-series';

const ROOT = path.join(__dirname, '..', '..');
const OPTIONAL_MODELS = path.join(ROOT, 'models', 'optional');
const MODEL_DIR = path.join(OPTIONAL_MODELS, 'brain-lobes-2d');
const MODEL_ID = 'brain-lobes-2d';
/**
 * Measured 0.806 through this pipeline (0.804 in the training script's emulation, metrics.json): the threshold is
 * measured − 0.05 rounded down, so a retrained model may differ a little but a broken one (wrong labels, codes or
 * geometry) fails.
 */
const MIN_MEAN_DICE = 0.75;

interface ManifestSegment {
  labelValue: number;
  label: string;
  type: { value: string; scheme: string };
}

function items(v: unknown): NaturalDataset[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as NaturalDataset[];
}

describe('brain lobe parcellation on a held-out double-oblique 2 mm series', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'lobes-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('when the series runs through the CLI pipeline, then the SEG has one segment per lobe with the manifest codes and a mean Dice ≥ 0.75', async () => {
    const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8')) as { segments: ManifestSegment[] };
    const run = await runHeldOutSeries(work, OPTIONAL_MODELS, { patientName: 'LOBES^TEST', patientId: 'LOBES-1', uidSeed: 'brain-lobes' });
    const truth = resampleLabelsToSeries(readNifti(readFileSync(path.join(MODEL_DIR, 'truth-lobes.nii.gz'))), run.geometry, (v) => v);
    expect(run.lines.map((l) => [l.model, l.status])).toEqual([[MODEL_ID, 'succeeded']]);

    const { seg } = run;
    expect(seg.SegmentationType).toBe('BINARY');
    const segments = items(seg.SegmentSequence);
    expect(segments.map((s) => [s.SegmentLabel, str(items(s.SegmentedPropertyTypeCodeSequence)[0] as NaturalDataset, 'CodeValue')])).toEqual(
      manifest.segments.map((s) => [s.label, s.type.value]),
    );
    // SEG segment number -> the manifest's label value, matched by label.
    const labelOfSegment = new Map(
      segments.map((s) => [Number(s.SegmentNumber), manifest.segments.find((m) => m.label === s.SegmentLabel)?.labelValue ?? -1]),
    );

    const { rows, columns, slices } = run.geometry;
    expect([Number(seg.Rows), Number(seg.Columns)]).toEqual([rows, columns]);
    const predicted = segLabelVolume(run, (segmentNumber) => labelOfSegment.get(segmentNumber));

    const perLobe = manifest.segments.map((s) => ({ lobe: s.label, dice: dice(predicted, truth.data, s.labelValue) }));
    const mean = perLobe.reduce((sum, l) => sum + l.dice, 0) / perLobe.length;
    console.log(
      `brain-lobes-2d on ${columns}×${rows}×${slices} axial series tilted 20°/20° (x/y), 2 mm: mean Dice ${mean.toFixed(4)} (` +
        perLobe.map((l) => `${l.lobe} ${l.dice.toFixed(3)}`).join(', ') +
        ')',
    );
    expect(mean).toBeGreaterThanOrEqual(MIN_MEAN_DICE);
  }, 60_000);
});
