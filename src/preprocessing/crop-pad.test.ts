import { voxelToPatient } from './grid';
import { cropOrPad } from './crop-pad';
import { axialGrid, obliqueGrid } from './test-grids';

describe('cropOrPad', () => {
  it('when cropping 5 → 2 along i, then voxels 1..2 are kept (extra one dropped at the end) and the origin moves', () => {
    const grid = axialGrid([5, 1, 1], [2, 1, 1], [10, 0, 0]);
    const r = cropOrPad(Float32Array.from([0, 1, 2, 3, 4]), grid, [2, 1, 1]);
    expect(Array.from(r.data)).toEqual([1, 2]);
    expect(r.shift).toEqual([1, 0, 0]);
    expect(r.grid.origin).toEqual([12, 0, 0]);
  });

  it('when padding 2 → 5 along j, then 1 pad row goes before, 2 after, with the pad value', () => {
    const grid = axialGrid([1, 2, 1], [1, 3, 1], [0, 0, 0]);
    const r = cropOrPad(Float32Array.from([7, 8]), grid, [1, 5, 1], -1);
    expect(Array.from(r.data)).toEqual([-1, 7, 8, -1, -1]);
    expect(r.grid.origin).toEqual([0, -3, 0]);
  });

  it('when cropping one axis and padding another on an oblique grid, then kept voxels keep their patient position', () => {
    const grid = obliqueGrid([6, 3, 4]);
    const data = Float32Array.from({ length: 72 }, (_, p) => p + 1);
    const r = cropOrPad(data, grid, [4, 5, 4]);
    for (let k = 0; k < 4; k++) for (let j = 0; j < 5; j++) for (let i = 0; i < 4; i++) {
      const v = r.data[k * 20 + j * 4 + i] as number;
      if (v === 0) continue; // padding
      const p = v - 1;
      const a = voxelToPatient(r.grid, i, j, k);
      const b = voxelToPatient(grid, p % 6, Math.floor(p / 6) % 3, Math.floor(p / 18));
      for (let c = 0; c < 3; c++) expect(a[c]).toBeCloseTo(b[c] as number, 9);
    }
  });

  it('when labels are restored, then cropped-away voxels are 0 and the rest come back in place', () => {
    const grid = axialGrid([5, 2, 1]);
    const labels = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const r = cropOrPad(labels, grid, [3, 4, 1]);
    expect(Array.from(r.data)).toEqual([0, 0, 0, 2, 3, 4, 7, 8, 9, 0, 0, 0]);
    expect(Array.from(r.restoreLabels(r.data))).toEqual([0, 2, 3, 4, 0, 0, 7, 8, 9, 0]);
  });
});
