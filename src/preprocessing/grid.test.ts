import type { Volume } from '../domain/volume';
import { gridOfVolume, patientToVoxel, sliceIndexOfOffset, sliceOffset, voxelToPatient, type Grid3 } from './grid';
import { obliqueGrid } from './test-grids';

function volumeWithSlicePositions(zs: number[]): Volume {
  return {
    columns: 2,
    rows: 2,
    slices: zs.length,
    spacing: [0.5, 0.5, 2],
    origin: [10, 20, zs[0] ?? 0],
    orientation: [1, 0, 0, 0, 1, 0],
    normal: [0, 0, 1],
    frameOfReferenceUid: '1.2.3',
    data: new Float32Array(4 * zs.length),
    sources: zs.map((z, k) => ({ sopInstanceUid: `1.2.${k}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4', imagePositionPatient: [10, 20, z] })),
  };
}

describe('Grid3', () => {
  it('when mapping voxel (1, 2, 3) of an axial grid, then it is origin + index * spacing', () => {
    const grid: Grid3 = { dims: [4, 4, 4], spacing: [0.5, 0.7, 3], origin: [10, 20, 30], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
    const p = voxelToPatient(grid, 1, 2, 3);
    expect(p[0]).toBeCloseTo(10.5, 12);
    expect(p[1]).toBeCloseTo(21.4, 12);
    expect(p[2]).toBeCloseTo(39, 12);
  });

  it('when mapping an oblique voxel to patient and back, then the index is recovered', () => {
    const grid = obliqueGrid();
    const back = patientToVoxel(grid, voxelToPatient(grid, 1.25, 2.5, -0.75));
    expect(back[0]).toBeCloseTo(1.25, 10);
    expect(back[1]).toBeCloseTo(2.5, 10);
    expect(back[2]).toBeCloseTo(-0.75, 10);
  });

  it('when slices are uneven, then k maps through the offsets linearly and back', () => {
    const grid: Grid3 = { dims: [1, 1, 4], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], sliceOffsets: [0, 2, 5, 6] };
    expect(sliceOffset(grid, 1.5)).toBeCloseTo(3.5, 12);
    expect(voxelToPatient(grid, 0, 0, 2)[2]).toBe(5);
    expect(sliceIndexOfOffset(grid, 5.5)).toBeCloseTo(2.5, 12);
    expect(patientToVoxel(grid, [0, 0, 3.5])[2]).toBeCloseTo(1.5, 12);
    expect(sliceIndexOfOffset(grid, 7)).toBeCloseTo(4, 12); // linear beyond the last gap
  });

  it('when the volume slices are evenly spaced, then its grid has no slice offsets', () => {
    const grid = gridOfVolume(volumeWithSlicePositions([5, 7, 9, 11]));
    expect(grid.sliceOffsets).toBeUndefined();
    expect(grid.dims).toEqual([2, 2, 4]);
    expect(grid.direction).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  });

  it('when the volume has a gap, then its grid keeps the measured slice offsets', () => {
    expect(gridOfVolume(volumeWithSlicePositions([5, 7, 11, 13])).sliceOffsets).toEqual([0, 2, 6, 8]);
  });
});
