/**
 * Acceptance test of the optional lobe parcellation model (issue #6): a double-oblique 2 mm series cut from Colin27
 * (20° about x and 20° about y, a tilt band the training script holds out) goes through the CLI `run` path with
 * `--models models/optional`; the BINARY SEG is decoded into a label map and compared, lobe by lobe, with the
 * training truth (AAL regions grouped into lobes inside ch2bet, truth-lobes.nii.gz) sampled nearest on the same grid.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import { runFolder, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { readPart10, str } from '../../src/dicom/part10';
import type { Vec3 } from '../../src/domain/study';
import { readNifti } from '../../src/synth/nifti';
import { makeSeries, planSeriesGeometry, resampleLabelsToSeries, type SeriesGeometryOptions } from '../../src/synth/series';
import { segFrameRefs, segPixelBytes, unpackSegFrame } from '../support/seg-geometry';

const ROOT = path.join(__dirname, '..', '..');
const OPTIONAL_MODELS = path.join(ROOT, 'models', 'optional');
const MODEL_DIR = path.join(OPTIONAL_MODELS, 'brain-lobes-2d');
const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
const MODEL_ID = 'brain-lobes-2d';
/**
 * Measured 0.806 through this pipeline (0.804 in the training script's emulation, metrics.json): the threshold is
 * measured − 0.05 rounded down, so a retrained model may differ a little but a broken one (wrong labels, codes or
 * geometry) fails.
 */
const MIN_MEAN_DICE = 0.75;

const HELD_OUT: SeriesGeometryOptions = { plane: 'axial', rotationDegrees: [20, 20, 0] as Vec3, spacingMm: 2 };

interface ManifestSegment {
  labelValue: number;
  label: string;
  type: { value: string; scheme: string };
}

function items(v: unknown): NaturalDataset[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as NaturalDataset[];
}

function dice(a: Uint8Array, b: Uint8Array, label: number): number {
  let both = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === label ? 1 : 0;
    const y = b[i] === label ? 1 : 0;
    both += x & y;
    sum += x + y;
  }
  return sum === 0 ? 1 : (2 * both) / sum;
}

describe('brain lobe parcellation on a held-out double-oblique 2 mm series', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'lobes-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('when the series runs through the CLI pipeline, then the SEG has one segment per lobe with the manifest codes and a mean Dice ≥ 0.75', async () => {
    const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8')) as { segments: ManifestSegment[] };
    const t1 = readNifti(readFileSync(CH2));
    const files = makeSeries(t1, {
      ...HELD_OUT,
      patient: { name: 'LOBES^TEST', id: 'LOBES-1', birthDate: '19700101', sex: 'O' },
      seriesDescription: 'T1 double oblique 2 mm',
      uidSeed: 'brain-lobes',
    });
    const input = path.join(work, 'in');
    mkdirSync(input);
    files.forEach((b, i) => writeFileSync(path.join(input, `${i}.dcm`), b));
    // Without a shuffle, file k is spatial slice k (along the normal), the order of resampleLabelsToSeries.
    const sliceOfSop = new Map(files.map((b, k) => [str(readPart10(b).dataset, 'SOPInstanceUID') as string, k]));

    const geometry = planSeriesGeometry(t1, HELD_OUT);
    const truth = resampleLabelsToSeries(readNifti(readFileSync(path.join(MODEL_DIR, 'truth-lobes.nii.gz'))), geometry, (v) => v);

    const config = loadConfig({ env: {}, overrides: { modelsDir: OPTIONAL_MODELS, logLevel: 'silent' } });
    const { lines } = await runFolder(input, path.join(work, 'out'), config, () => undefined);
    expect(lines.map((l) => [l.model, l.status])).toEqual([[MODEL_ID, 'succeeded']]);

    const seg = readPart10(new Uint8Array(readFileSync((lines[0] as RunLine).seg as string))).dataset;
    expect(seg.SegmentationType).toBe('BINARY');
    const segments = items(seg.SegmentSequence);
    expect(segments.map((s) => [s.SegmentLabel, str(items(s.SegmentedPropertyTypeCodeSequence)[0] as NaturalDataset, 'CodeValue')])).toEqual(
      manifest.segments.map((s) => [s.label, s.type.value]),
    );
    // SEG segment number -> the manifest's label value, matched by label.
    const labelOfSegment = new Map(
      segments.map((s) => [Number(s.SegmentNumber), manifest.segments.find((m) => m.label === s.SegmentLabel)?.labelValue ?? -1]),
    );

    const { rows, columns, slices } = geometry;
    expect([Number(seg.Rows), Number(seg.Columns)]).toEqual([rows, columns]);
    const predicted = new Uint8Array(rows * columns * slices);
    const pixels = segPixelBytes(seg);
    for (const ref of segFrameRefs(seg)) {
      const k = sliceOfSop.get(ref.referencedSopInstanceUid);
      const label = labelOfSegment.get(ref.segmentNumber);
      if (k === undefined || label === undefined) throw new Error(`SEG frame ${ref.frame} references an unknown instance or segment`);
      const bits = unpackSegFrame(pixels, ref.frame, rows, columns);
      const offset = k * rows * columns;
      bits.forEach((bit, p) => {
        if (bit === 1) predicted[offset + p] = label;
      });
    }

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
