/**
 * Volume geometry on real anatomy: Colin27 (Debian mricron-data) written as axial, sagittal, coronal and oblique
 * MR series with shuffled files and InstanceNumbers, read back and assembled. Positions are checked against each
 * source instance's own IPP/IOP/PixelSpacing, values against the template voxels, and files against dciodvfy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrames } from '../../src/dicom/decode';
import { IMPLEMENTATION, nums, readPart10, str, writePart10, type ParsedPart10 } from '../../src/dicom/part10';
import { buildVolume, voxelToPatient } from '../../src/dicom/volume';
import type { Vec3 } from '../../src/domain/study';
import type { Volume } from '../../src/domain/volume';
import { readNifti, type NiftiVolume } from '../../src/synth/nifti';
import { makeSeries, planSeriesGeometry, resampleLabelsToSeries, type MakeSeriesOptions, type SeriesPlane } from '../../src/synth/series';
import { geometryError } from '../support/app-error';

const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
const CH2BET = '/usr/share/mricron/templates/ch2bet.nii.gz';
const describeIfTemplates = existsSync(CH2) && existsSync(CH2BET) ? describe : describe.skip;
const hasDciodvfy = spawnSync('dciodvfy', [], { stdio: 'ignore' }).error === undefined;

function options(plane: SeriesPlane): MakeSeriesOptions {
  return {
    plane,
    spacingMm: 4,
    obliqueDegrees: 25,
    modality: 'MR',
    patient: { name: 'SYNTH^GEOMETRY', id: 'SYN-1', birthDate: '19800101', sex: 'O' },
    seriesDescription: `geometry ${plane}`,
    uidSeed: `geometry-test-${plane}`,
    shuffleSeed: 42,
  };
}

/** Position of pixel (i, j) computed from one instance's own header, the way the standard defines it. */
function positionFromHeader(p: ParsedPart10, i: number, j: number): Vec3 {
  const ipp = nums(p.dataset, 'ImagePositionPatient', 3) as number[];
  const iop = nums(p.dataset, 'ImageOrientationPatient', 6) as number[];
  const ps = nums(p.dataset, 'PixelSpacing', 2) as number[];
  return [0, 1, 2].map((d) => (ipp[d] as number) + (iop[d] as number) * (ps[1] as number) * i + (iop[d + 3] as number) * (ps[0] as number) * j) as Vec3;
}

/** Colin27's sform is a pure translation: voxel = RAS + (90, 125, 71); RAS = (−x, −y, z) of LPS. */
function colinVoxelOf(lps: Vec3): Vec3 {
  return [-lps[0] + 90, -lps[1] + 125, lps[2] + 71];
}

describeIfTemplates('synthetic MR series from Colin27 → buildVolume', () => {
  let t1: NiftiVolume;
  let bet: NiftiVolume;
  const built = new Map<SeriesPlane, { files: Uint8Array[]; parsed: ParsedPart10[]; volume: Volume }>();

  beforeAll(() => {
    t1 = readNifti(new Uint8Array(readFileSync(CH2)));
    bet = readNifti(new Uint8Array(readFileSync(CH2BET)));
    for (const plane of ['axial', 'sagittal', 'coronal', 'oblique'] as const) {
      const files = makeSeries(t1, options(plane));
      const parsed = files.map((f) => readPart10(f));
      built.set(plane, { files, parsed, volume: buildVolume(parsed) });
    }
  });

  const get = (plane: SeriesPlane): { files: Uint8Array[]; parsed: ParsedPart10[]; volume: Volume } => {
    const b = built.get(plane);
    if (!b) throw new Error(`series ${plane} was not built`);
    return b;
  };

  it.each(['axial', 'sagittal', 'coronal', 'oblique'] as const)(
    'when the %s series is shuffled, then voxelToPatient matches every source instance header',
    (plane) => {
      const { parsed, volume } = get(plane);
      const bySop = new Map(parsed.map((p) => [str(p.dataset, 'SOPInstanceUID'), p]));
      // The shuffle really scrambles both file order and InstanceNumber relative to space.
      const spatialRank = volume.sources.map((s) => parsed.findIndex((p) => str(p.dataset, 'SOPInstanceUID') === s.sopInstanceUid));
      expect(spatialRank).not.toEqual([...spatialRank].sort((a, b) => a - b));
      for (const k of [0, 1, Math.floor(volume.slices / 2), volume.slices - 1]) {
        const source = bySop.get(volume.sources[k]?.sopInstanceUid);
        if (!source) throw new Error(`slice ${k} has no source instance`);
        for (const [i, j] of [[0, 0], [volume.columns - 1, 0], [0, volume.rows - 1], [7, 11]] as const) {
          const expected = positionFromHeader(source, i, j);
          const actual = voxelToPatient(volume, i, j, k);
          actual.forEach((v, d) => expect(v).toBeCloseTo(expected[d] as number, 3));
        }
        // The slice's pixels are that instance's pixels.
        const own = decodeFrames(source).frames[0] as Float32Array;
        const inVolume = volume.data.subarray(k * own.length, (k + 1) * own.length);
        expect(Array.from(inVolume)).toEqual(Array.from(own));
      }
      expect(volume.spacing).toEqual([4, 4, expect.closeTo(4, 6)]);
    },
  );

  it('when series are generated, then orientations follow the shared convention and axial runs inferior→superior', () => {
    expect(get('axial').volume.orientation).toEqual([1, 0, 0, 0, 1, 0]);
    expect(get('sagittal').volume.orientation).toEqual([0, 1, 0, 0, 0, -1]);
    expect(get('coronal').volume.orientation).toEqual([1, 0, 0, 0, 0, -1]);
    const c = Math.cos((25 * Math.PI) / 180);
    const s = Math.sin((25 * Math.PI) / 180);
    get('oblique').volume.orientation.forEach((v, d) => expect(v).toBeCloseTo([1, 0, 0, 0, c, s][d] as number, 6));
    const axial = get('axial').volume;
    expect(axial.normal).toEqual([0, 0, 1]);
    expect(axial.sources[0]?.imagePositionPatient[2]).toBeLessThan(axial.sources[axial.slices - 1]?.imagePositionPatient[2] ?? 0);
  });

  it.each(['axial', 'sagittal', 'coronal'] as const)('when the %s grid falls on template voxels, then every voxel equals the template at RAS = (−x, −y, z)', (plane) => {
    const { volume } = get(plane);
    const [nx, ny] = t1.dims;
    let checked = 0;
    const mismatches: string[] = [];
    for (let k = 0; k < volume.slices; k++) {
      for (let j = 0; j < volume.rows; j++) {
        for (let i = 0; i < volume.columns; i++) {
          const [x, y, z] = colinVoxelOf(voxelToPatient(volume, i, j, k)).map((v) => Math.round(v * 1e6) / 1e6) as Vec3;
          const inside = Number.isInteger(x) && x >= 0 && x < nx && y >= 0 && y < ny && z >= 0 && z < t1.dims[2];
          const expected = inside ? (t1.data[x + nx * (y + ny * z)] as number) : 0;
          const actual = volume.data[(k * volume.rows + j) * volume.columns + i];
          if (actual !== expected && mismatches.length < 5) mismatches.push(`(${i},${j},${k}): ${actual} ≠ ${expected}`);
          checked++;
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(volume.columns * volume.rows * volume.slices);
  });

  it('when the brain mask is resampled to the axial series, then it lines up with the volume and with ch2bet', () => {
    const { volume } = get('axial');
    const labels = resampleLabelsToSeries(bet, planSeriesGeometry(t1, options('axial')));
    expect([labels.columns, labels.rows, labels.slices]).toEqual([volume.columns, volume.rows, volume.slices]);
    const [nx, ny] = bet.dims;
    let inside = 0;
    let mismatches = 0;
    for (let idx = 0; idx < labels.data.length; idx++) {
      const i = idx % volume.columns;
      const j = Math.floor(idx / volume.columns) % volume.rows;
      const k = Math.floor(idx / (volume.columns * volume.rows));
      const [x, y, z] = colinVoxelOf(voxelToPatient(volume, i, j, k)).map(Math.round) as Vec3;
      if (labels.data[idx] !== ((bet.data[x + nx * (y + ny * z)] ?? 0) > 0 ? 1 : 0)) mismatches++;
      inside += labels.data[idx] ?? 0;
    }
    expect(mismatches).toBe(0);
    // A brain fills roughly 10–30 % of a head-sized box.
    expect(inside / labels.data.length).toBeGreaterThan(0.1);
    expect(inside / labels.data.length).toBeLessThan(0.3);
  });

  it('when the same options are used twice, then the files are byte-identical', () => {
    const again = makeSeries(t1, options('oblique'));
    expect(again.map((f) => Buffer.from(f).toString('base64'))).toEqual(get('oblique').files.map((f) => Buffer.from(f).toString('base64')));
  });

  describe('inconsistent series', () => {
    /** Fresh parsed copies of the axial series, in spatial order, so cases can edit headers freely. */
    const axialInOrder = (): ParsedPart10[] => {
      const { files, volume } = get('axial');
      const parsed = files.map((f) => readPart10(f));
      return volume.sources.map((s) => parsed.find((p) => str(p.dataset, 'SOPInstanceUID') === s.sopInstanceUid) as ParsedPart10);
    };

    it('when one slice is tilted, then GEOMETRY reports mixed orientations', () => {
      const series = axialInOrder();
      (series[5] as ParsedPart10).dataset.ImageOrientationPatient = [1, 0, 0, 0, 0.9962, 0.0872];
      expect(geometryError(() => buildVolume(series))).toMatch(/mixed orientations/);
    });

    it('when two slices share a position, then GEOMETRY reports the duplicate position', () => {
      const series = axialInOrder();
      (series[6] as ParsedPart10).dataset.ImagePositionPatient = (series[5] as ParsedPart10).dataset.ImagePositionPatient;
      expect(geometryError(() => buildVolume(series))).toMatch(/duplicate position/);
    });

    it('when two slices are missing, then GEOMETRY reports a gap of 2 missing slices', () => {
      const series = axialInOrder();
      series.splice(10, 2);
      expect(geometryError(() => buildVolume(series))).toMatch(/gap: 2 missing slice\(s\)/);
    });

    it('when one slice has another size, then GEOMETRY reports different image sizes', () => {
      const series = axialInOrder();
      (series[3] as ParsedPart10).dataset.Columns = 40;
      expect(geometryError(() => buildVolume(series))).toMatch(/different image sizes/);
    });
  });

  (hasDciodvfy ? describe : describe.skip)('dciodvfy', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'synth-dciodvfy-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const errorLines = (file: string): string[] => {
      // dciodvfy reports on stderr and exits 0 even with errors; count the Error lines.
      const run = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
      return `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => /^Error/.test(l));
    };

    it.each(['axial', 'oblique'] as const)('when a generated %s instance is verified, then it has 0 Error lines', (plane) => {
      const file = join(dir, `${plane}.dcm`);
      writeFileSync(file, get(plane).files[0] as Uint8Array);
      expect(errorLines(file)).toEqual([]);
    });

    it('when a bundled sample instance is verified, then it has 0 Error lines', () => {
      expect(errorLines(join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom', 'IM0001.dcm'))).toEqual([]);
    });

    it('when a Type 1 attribute is removed, then dciodvfy does report an Error (the check can fail)', () => {
      const p = readPart10(get('axial').files[0] as Uint8Array);
      delete p.dataset.ScanningSequence;
      const broken = join(dir, 'broken.dcm');
      writeFileSync(broken, writePart10(p.dataset, IMPLEMENTATION));
      expect(errorLines(broken).length).toBeGreaterThan(0);
    });
  });
});

describe('bundled sample study (test/fixtures/sample-mr)', () => {
  it('when the committed files are assembled, then they form one 128×128×91 volume at 2 mm of the demo patient', () => {
    const dir = join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom');
    const parsed = readdirSync(dir)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => readPart10(new Uint8Array(readFileSync(join(dir, f)))));
    const volume = buildVolume(parsed);
    expect([volume.columns, volume.rows, volume.slices]).toEqual([128, 128, 91]);
    expect(volume.spacing).toEqual([2, 2, 2]);
    expect(new Set(parsed.map((p) => str(p.dataset, 'PatientName')))).toEqual(new Set(['CLINICAL-AI^DEMO']));
    expect(new Set(parsed.map((p) => str(p.dataset, 'PatientID')))).toEqual(new Set(['DEMO-0001']));
  });
});
