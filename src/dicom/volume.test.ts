import type { NaturalDataset } from 'dcmjs';
import type { Orientation6, Vec3 } from '../domain/study';
import type { ParsedPart10 } from './part10';
import { buildVolume, patientToVoxel, sliceNormal, voxelToPatient } from './volume';
import { geometryError } from '../../test/support/app-error';

const AXIAL: Orientation6 = [1, 0, 0, 0, 1, 0];

/** A 2×3 (rows×columns) 16-bit slice whose pixels all hold `value`. */
function slice(ipp: Vec3, value: number, extra: NaturalDataset = {}): ParsedPart10 {
  const rows = Number(extra.Rows ?? 2);
  const columns = Number(extra.Columns ?? 3);
  return {
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    meta: {},
    dataset: {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      SOPInstanceUID: `1.2.3.${value}`,
      FrameOfReferenceUID: '1.2.3.100',
      Rows: rows,
      Columns: columns,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 0,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      ImageOrientationPatient: AXIAL,
      ImagePositionPatient: ipp,
      PixelSpacing: [0.5, 0.8],
      PixelData: [new Uint16Array(rows * columns).fill(value).buffer],
      ...extra,
    },
  };
}

describe('sliceNormal', () => {
  it('when the orientation is axial, sagittal or coronal, then the normal is rowDir × colDir', () => {
    expect(sliceNormal([1, 0, 0, 0, 1, 0])).toEqual([0, 0, 1]);
    expect(sliceNormal([0, 1, 0, 0, 0, -1])).toEqual([-1, 0, 0]);
    expect(sliceNormal([1, 0, 0, 0, 0, -1])).toEqual([0, 1, 0]);
  });

  it('when the rows and columns are parallel, then GEOMETRY is thrown', () => {
    expect(geometryError(() => sliceNormal([1, 0, 0, 1, 0, 0]))).toMatch(/parallel/);
  });
});

describe('voxelToPatient / patientToVoxel', () => {
  const c = Math.SQRT1_2;
  const grid = { origin: [10, 20, 30] as Vec3, orientation: [1, 0, 0, 0, c, c] as Orientation6, normal: [0, -c, c] as Vec3, spacing: [0.5, 2, 4] as Vec3 };

  it('when a voxel index is given, then the position is origin + i·sx·row + j·sy·col + k·sz·normal', () => {
    expect(voxelToPatient(grid, 0, 0, 0)).toEqual([10, 20, 30]);
    const p = voxelToPatient(grid, 2, 1, 1);
    // i: 2·0.5 along x; j: 1·2 along (0,c,c); k: 1·4 along (0,−c,c).
    expect(p[0]).toBeCloseTo(11, 10);
    expect(p[1]).toBeCloseTo(20 + 2 * c - 4 * c, 10);
    expect(p[2]).toBeCloseTo(30 + 2 * c + 4 * c, 10);
  });

  it('when a position is mapped back, then the fractional voxel index is recovered', () => {
    const v = patientToVoxel(grid, voxelToPatient(grid, 3.25, -1, 7.5));
    expect(v[0]).toBeCloseTo(3.25, 10);
    expect(v[1]).toBeCloseTo(-1, 10);
    expect(v[2]).toBeCloseTo(7.5, 10);
  });
});

describe('buildVolume', () => {
  it('when files come in reverse order with misleading InstanceNumbers, then slices are sorted along the normal', () => {
    const files = [
      slice([0, 0, 9], 3, { InstanceNumber: 1 }),
      slice([0, 0, 3], 1, { InstanceNumber: 3 }),
      slice([0, 0, 6], 2, { InstanceNumber: 2 }),
    ];
    const vol = buildVolume(files);
    expect([vol.columns, vol.rows, vol.slices]).toEqual([3, 2, 3]);
    // PixelSpacing is row spacing \ column spacing: 0.8 mm along rowDir, 0.5 mm along colDir.
    expect(vol.spacing).toEqual([0.8, 0.5, 3]);
    expect(vol.origin).toEqual([0, 0, 3]);
    expect(vol.sources.map((s) => s.sopInstanceUid)).toEqual(['1.2.3.1', '1.2.3.2', '1.2.3.3']);
    expect([vol.data[0], vol.data[6], vol.data[12]]).toEqual([1, 2, 3]);
  });

  it('when the series has one slice, then spacing along the normal comes from SliceThickness', () => {
    const vol = buildVolume([slice([1, 2, 3], 5, { SliceThickness: '2.5' })]);
    expect(vol.spacing[2]).toBe(2.5);
    expect(vol.slices).toBe(1);
  });

  it('when there are no instances, then GEOMETRY says there are no slices', () => {
    expect(geometryError(() => buildVolume([]))).toMatch(/no slices/);
  });

  it('when one slice has another orientation, then GEOMETRY reports mixed orientations', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 1], 2, { ImageOrientationPatient: [1, 0, 0, 0, 0.99, 0.14] })];
    expect(geometryError(() => buildVolume(files))).toMatch(/mixed orientations/);
  });

  it('when two slices share a position, then GEOMETRY reports the duplicate', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 1], 2), slice([0, 0, 1], 3)];
    expect(geometryError(() => buildVolume(files))).toMatch(/duplicate position/);
  });

  it('when a slice is missing, then GEOMETRY reports the gap and how many slices are missing', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 2], 2), slice([0, 0, 4], 3), slice([0, 0, 8], 4)];
    expect(geometryError(() => buildVolume(files))).toMatch(/gap: 1 missing slice\(s\) between positions 4 and 8/);
  });

  it('when gaps differ without being a multiple, then GEOMETRY reports non-uniform spacing', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 2], 2), slice([0, 0, 4], 3), slice([0, 0, 5.3], 4)];
    expect(geometryError(() => buildVolume(files))).toMatch(/non-uniform slice spacing: 1\.3 mm/);
  });

  it('when sizes differ, then GEOMETRY reports different image sizes', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 1], 2, { Rows: 4 })];
    expect(geometryError(() => buildVolume(files))).toMatch(/different image sizes/);
  });

  it('when pixel spacings differ, then GEOMETRY reports different PixelSpacing', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 1], 2, { PixelSpacing: [0.5, 0.9] })];
    expect(geometryError(() => buildVolume(files))).toMatch(/different PixelSpacing/);
  });

  it('when ImagePositionPatient is missing, then GEOMETRY names the attribute', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 1], 2, { ImagePositionPatient: undefined })];
    expect(geometryError(() => buildVolume(files))).toMatch(/instance 2 has no valid ImagePositionPatient/);
  });

  it('when slices belong to two frames of reference, then GEOMETRY says so', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 0, 1], 2, { FrameOfReferenceUID: '1.2.3.999' })];
    expect(geometryError(() => buildVolume(files))).toMatch(/2 FrameOfReferenceUIDs/);
  });

  it('when slices drift in-plane, then GEOMETRY reports a sheared stack', () => {
    const files = [slice([0, 0, 0], 1), slice([0, 1, 2], 2), slice([0, 2, 4], 3)];
    expect(geometryError(() => buildVolume(files))).toMatch(/not stacked along the normal/);
  });

  it('when an enhanced multi-frame instance has per-frame positions, then each frame is a slice in normal order', () => {
    const frames = [2, 0, 1];
    const perFrame = frames.map((z) => ({ PlanePositionSequence: [{ ImagePositionPatient: [0, 0, z * 1.5] }] }));
    const pixels = new Uint16Array(frames.flatMap((z) => Array<number>(6).fill(z + 10)));
    const mf = slice([0, 0, 0], 1, {
      NumberOfFrames: 3,
      ImagePositionPatient: undefined,
      ImageOrientationPatient: undefined,
      PixelSpacing: undefined,
      SharedFunctionalGroupsSequence: [
        { PlaneOrientationSequence: [{ ImageOrientationPatient: AXIAL }], PixelMeasuresSequence: [{ PixelSpacing: [1, 1] }] },
      ],
      PerFrameFunctionalGroupsSequence: perFrame,
      PixelData: [pixels.buffer],
    });
    const vol = buildVolume([mf]);
    expect(vol.spacing).toEqual([1, 1, 1.5]);
    expect(vol.sources.map((s) => s.frameNumber)).toEqual([2, 3, 1]);
    expect([vol.data[0], vol.data[6], vol.data[12]]).toEqual([10, 11, 12]);
  });

  /** An enhanced instance whose frames carry the given per-frame groups besides their positions. */
  function enhanced(perFrameExtra: NaturalDataset[]): ParsedPart10 {
    const perFrame = perFrameExtra.map((extra, f) => ({ PlanePositionSequence: [{ ImagePositionPatient: [0, 0, f] }], ...extra }));
    const pixels = new Uint16Array(perFrame.length * 6).fill(1);
    return slice([0, 0, 0], 1, {
      NumberOfFrames: perFrame.length,
      ImagePositionPatient: undefined,
      ImageOrientationPatient: undefined,
      PixelSpacing: undefined,
      SharedFunctionalGroupsSequence: [{ PlaneOrientationSequence: [{ ImageOrientationPatient: AXIAL }], PixelMeasuresSequence: [{ PixelSpacing: [1, 1] }] }],
      PerFrameFunctionalGroupsSequence: perFrame,
      PixelData: [pixels.buffer],
    });
  }

  it('when enhanced frames belong to two StackIDs, then GEOMETRY reports two stacks', () => {
    const mf = enhanced(['1', '2', '1', '2'].map((id) => ({ FrameContentSequence: [{ StackID: id }] })));
    expect(geometryError(() => buildVolume([mf]))).toMatch(/^series holds 2 stacks \(StackID 1, 2\): select one stack/);
  });

  it('when enhanced frames carry two EffectiveEchoTimes, then GEOMETRY reports two echoes', () => {
    const mf = enhanced([10, 20, 10].map((te) => ({ MREchoSequence: [{ EffectiveEchoTime: te }] })));
    expect(geometryError(() => buildVolume([mf]))).toMatch(/^series holds 2 echoes \(EffectiveEchoTime 10, 20 ms\)/);
  });

  it('when enhanced frames carry two TemporalPositionIndex values, then GEOMETRY reports two phases', () => {
    const mf = enhanced([1, 1, 2].map((t) => ({ FrameContentSequence: [{ TemporalPositionIndex: t }] })));
    expect(geometryError(() => buildVolume([mf]))).toMatch(/^series holds 2 temporal phases \(TemporalPositionIndex 1, 2\)/);
  });

  it('when enhanced frames share one StackID and echo time, then they form one volume', () => {
    const mf = enhanced([0, 1, 2].map(() => ({ FrameContentSequence: [{ StackID: '1' }], MREchoSequence: [{ EffectiveEchoTime: 10 }] })));
    expect(buildVolume([mf]).slices).toBe(3);
  });

  it('when gaps are uneven and nonUniformSpacing is resample, then sliceOffsets hold each slice position and spacing the mean gap', () => {
    const files = [slice([0, 0, 5.3], 4), slice([0, 0, 0], 1), slice([0, 0, 4], 3), slice([0, 0, 2], 2)];
    const vol = buildVolume(files, { nonUniformSpacing: 'resample' });
    expect(vol.sliceOffsets?.map((t) => Number(t.toFixed(6)))).toEqual([0, 2, 4, 5.3]);
    expect(vol.spacing[2]).toBeCloseTo(5.3 / 3, 10);
    expect(vol.origin).toEqual([0, 0, 0]);
    expect([vol.data[0], vol.data[6], vol.data[12], vol.data[18]]).toEqual([1, 2, 3, 4]);
  });
});
