/**
 * The reference models' acceptance runs (issue #6): a double-oblique 2 mm series cut from Colin27 (20° about x and
 * 20° about y, the tilt band the training scripts hold out) goes through the CLI `run` path, and its SEG is read
 * back into a label volume on the series' own grid, where truth from a NIfTI can be sampled for Dice.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NaturalDataset } from 'dcmjs';
import { runFolder, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { readPart10, str } from '../../src/dicom/part10';
import type { Vec3 } from '../../src/domain/study';
import { readNifti } from '../../src/synth/nifti';
import { makeSeries, planSeriesGeometry, type SeriesGeometry, type SeriesGeometryOptions } from '../../src/synth/series';
import { segFrameRefs, segPixelBytes, unpackSegFrame } from './seg-geometry';

export const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
export const HELD_OUT: SeriesGeometryOptions = { plane: 'axial', rotationDegrees: [20, 20, 0] as Vec3, spacingMm: 2 };

export interface HeldOutRun {
  geometry: SeriesGeometry;
  lines: RunLine[];
  /** The first job's SEG, parsed. */
  seg: NaturalDataset;
  /** Spatial slice index (along the normal) of each source SOP Instance UID. */
  sliceOfSop: Map<string, number>;
}

/** Who the synthetic series belongs to, and the seed of its UIDs. */
export interface HeldOutIdentity {
  patientName: string;
  patientId: string;
  uidSeed: string;
}

/** Writes the held-out series under `work`/in, runs `clinical-ai run` on it with the models in `modelsDir`. */
export async function runHeldOutSeries(work: string, modelsDir: string, identity: HeldOutIdentity): Promise<HeldOutRun> {
  const t1 = readNifti(readFileSync(CH2));
  const files = makeSeries(t1, {
    ...HELD_OUT,
    patient: { name: identity.patientName, id: identity.patientId, birthDate: '19700101', sex: 'O' },
    seriesDescription: 'T1 double oblique 2 mm',
    uidSeed: identity.uidSeed,
  });
  const input = path.join(work, 'in');
  mkdirSync(input);
  files.forEach((b, i) => writeFileSync(path.join(input, `${i}.dcm`), b));
  // Without a shuffle, file k is spatial slice k (along the normal), the order of resampleLabelsToSeries.
  const sliceOfSop = new Map(files.map((b, k) => [str(readPart10(b).dataset, 'SOPInstanceUID') as string, k]));
  const config = loadConfig({ env: {}, overrides: { modelsDir, logLevel: 'silent' } });
  const { lines } = await runFolder(input, path.join(work, 'out'), config, () => undefined);
  const segFile = lines[0]?.seg;
  const seg = segFile ? readPart10(new Uint8Array(readFileSync(segFile))).dataset : {};
  return { geometry: planSeriesGeometry(t1, HELD_OUT), lines, seg, sliceOfSop };
}

/** The BINARY SEG as a label volume on the series grid: each set bit gets labelOfSegment(its segment number). */
export function segLabelVolume(run: HeldOutRun, labelOfSegment: (segmentNumber: number) => number | undefined): Uint8Array {
  const { rows, columns, slices } = run.geometry;
  const volume = new Uint8Array(rows * columns * slices);
  const pixels = segPixelBytes(run.seg);
  for (const ref of segFrameRefs(run.seg)) {
    const k = run.sliceOfSop.get(ref.referencedSopInstanceUid);
    const label = labelOfSegment(ref.segmentNumber);
    if (k === undefined || label === undefined) throw new Error(`SEG frame ${ref.frame} references an unknown instance or segment`);
    const offset = k * rows * columns;
    unpackSegFrame(pixels, ref.frame, rows, columns).forEach((bit, p) => {
      if (bit === 1) volume[offset + p] = label;
    });
  }
  return volume;
}

/** Dice of one label between two label volumes (1 when neither holds it). */
export function dice(a: Uint8Array, b: Uint8Array, label: number): number {
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
