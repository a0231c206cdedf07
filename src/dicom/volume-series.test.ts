/**
 * Inconsistent-series detection on real anatomy: Colin27 (Debian mricron-data) written as coarse MR series with
 * makeSeries, then headers edited to make each case a PACS can hold: several echoes, phases, b-values, stacks,
 * repeated and duplicate positions, missing instances and uneven gaps.
 */
import type { NaturalDataset } from 'dcmjs';
import { existsSync, readFileSync } from 'node:fs';
import { decodeFrames } from './decode';
import { nums, readPart10, str, type ParsedPart10 } from './part10';
import { buildVolume, dot, voxelToPatient } from './volume';
import type { Vec3 } from '../domain/study';
import { readNifti } from '../synth/nifti';
import { makeSeries, type SeriesPlane } from '../synth/series';
import { geometryError } from '../../test/support/app-error';

const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
const describeIfTemplate = existsSync(CH2) ? describe : describe.skip;
const SPACING = 8;

function ipp(p: ParsedPart10): Vec3 {
  return nums(p.dataset, 'ImagePositionPatient', 3) as Vec3;
}

function normalOf(p: ParsedPart10): Vec3 {
  const o = nums(p.dataset, 'ImageOrientationPatient', 6) as number[];
  const [a, b, c, d, e, f] = o as [number, number, number, number, number, number];
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

/** A second image of the same slice: new SOPInstanceUID, header edits, pixels optionally changed. */
function copyOf(p: ParsedPart10, suffix: string, edits: Record<string, unknown>, changePixels = true): ParsedPart10 {
  const dataset: NaturalDataset = { ...p.dataset, ...edits, SOPInstanceUID: `${str(p.dataset, 'SOPInstanceUID') ?? ''}.${suffix}` };
  if (changePixels) {
    const source = (p.dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer;
    const bytes = new Uint8Array(source.slice(0));
    for (let i = 0; i < bytes.length; i += 2) bytes[i] = (bytes[i] as number) ^ 1;
    dataset.PixelData = [bytes.buffer];
  }
  return { ...p, dataset };
}

describeIfTemplate('buildVolume on inconsistent Colin27 series', () => {
  const files = new Map<SeriesPlane, Uint8Array[]>();

  beforeAll(() => {
    const t1 = readNifti(new Uint8Array(readFileSync(CH2)));
    for (const plane of ['axial', 'oblique'] as const) {
      files.set(
        plane,
        makeSeries(t1, {
          plane,
          spacingMm: SPACING,
          obliqueDegrees: 20,
          patient: { name: 'SYNTH^CASES', id: 'SYN-2', birthDate: '19800101', sex: 'O' },
          seriesDescription: `cases ${plane}`,
          uidSeed: `volume-cases-${plane}`,
          shuffleSeed: 7,
        }),
      );
    }
  });

  /** Freshly parsed instances (safe to edit), sorted along the normal so tests can pick slices by position. */
  function series(plane: SeriesPlane = 'axial'): ParsedPart10[] {
    const parsed = (files.get(plane) as Uint8Array[]).map((f) => readPart10(f));
    const n = normalOf(parsed[0] as ParsedPart10);
    return parsed.sort((a, b) => dot(ipp(a), n) - dot(ipp(b), n));
  }

  describe('one volume per series', () => {
    it('when the series is consistent, then it builds with even spacing and no sliceOffsets, in either spacing mode', () => {
      const plain = buildVolume(series());
      const resampleMode = buildVolume(series(), { nonUniformSpacing: 'resample' });
      expect(plain.spacing).toEqual([SPACING, SPACING, SPACING]);
      expect(plain.sliceOffsets).toBeUndefined();
      expect(resampleMode.sliceOffsets).toBeUndefined();
      expect(resampleMode.spacing).toEqual(plain.spacing);
      expect(Array.from(resampleMode.data)).toEqual(Array.from(plain.data));
    });

    it('when the series holds two echoes with EchoNumbers, then GEOMETRY names the echoes and says to select one', () => {
      const first = series().map((p) => ({ ...p, dataset: { ...p.dataset, EchoNumbers: 1 } }));
      const second = first.map((p) => copyOf(p, '2', { EchoNumbers: 2, EchoTime: 12 }));
      expect(geometryError(() => buildVolume([...first, ...second]))).toMatch(/^series holds 2 echoes \(EchoNumbers 1, 2\): select one echo/);
    });

    it('when echoes differ only in EchoTime, then GEOMETRY reports two echoes with their echo times', () => {
      const first = series();
      const second = first.map((p) => copyOf(p, '2', { EchoTime: 12 }));
      expect(geometryError(() => buildVolume([...second, ...first]))).toMatch(/series holds 2 echoes \(EchoTime 4, 12 ms\) with up to 2 images at the same position: select one echo/);
    });

    it('when the series holds three temporal positions, then GEOMETRY reports the phases', () => {
      const base = series();
      const phases = [1, 2, 3].flatMap((t) => base.map((p) => copyOf(p, String(t), { TemporalPositionIdentifier: t }, t !== 1)));
      expect(geometryError(() => buildVolume(phases))).toMatch(/series holds 3 temporal phases \(TemporalPositionIdentifier 1, 2, 3\): select one phase/);
    });

    it('when phases differ only in TriggerTime, then GEOMETRY reports temporal phases with the trigger times', () => {
      const base = series();
      const phases = [0, 400].flatMap((t) => base.map((p) => copyOf(p, String(t + 1), { TriggerTime: t }, t !== 0)));
      expect(geometryError(() => buildVolume(phases))).toMatch(/series holds 2 temporal phases \(TriggerTime 0, 400 ms\)/);
    });

    it('when the series holds two b-values, then GEOMETRY reports the diffusion weightings', () => {
      const base = series();
      const dwi = [0, 1000].flatMap((b) => base.map((p) => copyOf(p, String(b + 1), { DiffusionBValue: b }, b !== 0)));
      expect(geometryError(() => buildVolume(dwi))).toMatch(/series holds 2 diffusion weightings \(DiffusionBValue 0, 1000 s\/mm²\): select one b-value/);
    });

    it('when two acquisitions repeat the same positions, then GEOMETRY reports two stacks by AcquisitionNumber', () => {
      const base = series();
      const again = base.map((p) => copyOf(p, '2', { AcquisitionNumber: 2 }));
      expect(geometryError(() => buildVolume([...base, ...again]))).toMatch(/series holds 2 stacks \(AcquisitionNumber 1, 2\) with up to 2 images at the same position: select one acquisition/);
    });

    it('when two acquisitions interleave their positions, then GEOMETRY reports interleaved stacks although the merged gaps are even', () => {
      const base = series();
      const n = normalOf(base[0] as ParsedPart10);
      const half = SPACING / 2;
      const shifted = base.map((p) => copyOf(p, '2', { AcquisitionNumber: 2, ImagePositionPatient: ipp(p).map((v, d) => v + half * (n[d] as number)) }));
      expect(geometryError(() => buildVolume([...base, ...shifted]))).toMatch(/series holds 2 stacks \(AcquisitionNumber 1, 2\) whose slice positions interleave: select one acquisition/);
    });

    it('when acquisitions follow one another along the normal, then they form one volume', () => {
      const base = series();
      const half = Math.floor(base.length / 2);
      const split = base.map((p, k) => ({ ...p, dataset: { ...p.dataset, AcquisitionNumber: k < half ? 1 : 2 } }));
      const volume = buildVolume(split);
      expect(volume.slices).toBe(base.length);
      expect(volume.sliceOffsets).toBeUndefined();
    });

    it('when every position holds two images and no attribute tells them apart, then GEOMETRY reports repeated position sets', () => {
      const base = series();
      const again = base.map((p) => copyOf(p, '2', {}));
      expect(geometryError(() => buildVolume([...again, ...base]))).toMatch(
        new RegExp(`series holds 2 images at each of its ${base.length} positions \\(repeated position sets`),
      );
    });
  });

  describe('duplicates', () => {
    it('when one slice is stored twice under another SOPInstanceUID, then GEOMETRY reports a duplicate with identical pixel data', () => {
      const base = series();
      const dup = copyOf(base[5] as ParsedPart10, '9', {}, false);
      expect(geometryError(() => buildVolume([...base, dup]))).toMatch(/duplicate position: .* identical pixel data .*delete one copy/);
    });

    it('when a slice is moved onto its neighbour, then GEOMETRY reports a duplicate with different pixel data', () => {
      const base = series();
      (base[6] as ParsedPart10).dataset.ImagePositionPatient = ipp(base[5] as ParsedPart10);
      expect(geometryError(() => buildVolume(base))).toMatch(/duplicate position: .* with different pixel data/);
    });

    it('when the same instance (same SOPInstanceUID) arrives twice, then the copy is dropped and the volume is unchanged', () => {
      const base = series();
      const volume = buildVolume([...base, readPart10((files.get('axial') as Uint8Array[])[3] as Uint8Array)]);
      expect(volume.slices).toBe(base.length);
      expect(Array.from(volume.data)).toEqual(Array.from(buildVolume(series()).data));
    });

    it('when two instances share a SOPInstanceUID but not a position, then GEOMETRY says the series is corrupt', () => {
      const base = series();
      const clash = { ...(base[4] as ParsedPart10), dataset: { ...(base[4] as ParsedPart10).dataset, SOPInstanceUID: str((base[2] as ParsedPart10).dataset, 'SOPInstanceUID') } };
      base[4] = clash;
      expect(geometryError(() => buildVolume(base))).toMatch(/share one SOPInstanceUID but lie at different positions/);
    });
  });

  describe('missing instances and uneven spacing', () => {
    it('when two instances are missing, then GEOMETRY reports the gap and the absent InstanceNumbers, in either spacing mode', () => {
      const base = series();
      const dropped = [base[10], base[11]].map((p) => Number((p as ParsedPart10).dataset.InstanceNumber));
      const numbers = base.map((p) => Number(p.dataset.InstanceNumber));
      // Only meaningful when the dropped numbers lie inside the range (a hole), which the seeded shuffle gives.
      expect(dropped.every((v) => v > Math.min(...numbers) && v < Math.max(...numbers))).toBe(true);
      base.splice(10, 2);
      const expected = [...dropped].sort((a, b) => a - b).join(', ');
      const message = geometryError(() => buildVolume(base));
      expect(message).toMatch(/^gap: 2 missing slice\(s\) between positions .* \(spacing 8 mm\)/);
      expect(message).toContain(`InstanceNumber ${expected} absent from the series: the series is incomplete`);
      expect(geometryError(() => buildVolume(base, { nonUniformSpacing: 'resample' }))).toContain('the series is incomplete');
    });

    it('when a gap is by design (InstanceNumbers without holes), then reject names the resample option and resample accepts it', () => {
      const base = series();
      base.splice(10, 2);
      base.forEach((p, k) => (p.dataset.InstanceNumber = k + 1));
      expect(geometryError(() => buildVolume(base))).toMatch(/gap: 2 missing slice\(s\).*nonUniformSpacing to "resample"/);
      const volume = buildVolume(base, { nonUniformSpacing: 'resample' });
      const expected = base.map((_, k) => (k < 10 ? k : k + 2) * SPACING);
      (volume.sliceOffsets as number[]).forEach((t, k) => expect(t).toBeCloseTo(expected[k] as number, 3));
      expect(volume.spacing[2]).toBeCloseTo(((expected[expected.length - 1] as number) / (base.length - 1)), 6);
    });

    it('when slices above one position are shifted by 3 mm on an oblique series, then reject reports non-uniform spacing and resample returns sliceOffsets', () => {
      const base = series('oblique');
      const n = normalOf(base[0] as ParsedPart10);
      const from = 7;
      base.forEach((p, k) => {
        if (k >= from) p.dataset.ImagePositionPatient = ipp(p).map((v, d) => v + 3 * (n[d] as number));
      });
      expect(geometryError(() => buildVolume(base))).toMatch(/^non-uniform slice spacing: 11 mm between positions .* median spacing 8 mm: set preprocessing\.nonUniformSpacing to "resample"/);

      const volume = buildVolume([...base].reverse(), { nonUniformSpacing: 'resample' });
      const offsets = volume.sliceOffsets as number[];
      expect(offsets).toHaveLength(base.length);
      offsets.forEach((t, k) => expect(t).toBeCloseTo(k * SPACING + (k >= from ? 3 : 0), 3));
      expect(volume.spacing[2]).toBeCloseTo((offsets[offsets.length - 1] as number) / (base.length - 1), 6);
      // Each slice k sits at origin + sliceOffsets[k] · normal and holds that instance's pixels.
      base.forEach((p, k) => {
        const expected = ipp(p);
        const atOffset = (volume.origin as number[]).map((o, d) => o + (offsets[k] as number) * (volume.normal[d] as number));
        atOffset.forEach((v, d) => expect(v).toBeCloseTo(expected[d] as number, 3));
        expect(volume.sources[k]?.sopInstanceUid).toBe(str(p.dataset, 'SOPInstanceUID'));
      });
      const own = decodeFrames(base[from] as ParsedPart10).frames[0] as Float32Array;
      expect(Array.from(volume.data.subarray(from * own.length, (from + 1) * own.length))).toEqual(Array.from(own));
      // In-plane geometry is unchanged by the uneven slices.
      const p0 = voxelToPatient(volume, 3, 2, 0);
      const h = base[0] as ParsedPart10;
      const iop = nums(h.dataset, 'ImageOrientationPatient', 6) as number[];
      p0.forEach((v, d) => expect(v).toBeCloseTo((ipp(h)[d] as number) + 3 * SPACING * (iop[d] as number) + 2 * SPACING * (iop[d + 3] as number), 3));
    });
  });
});
