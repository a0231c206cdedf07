import type { Vec3 } from '../domain/study';
import { voxelToPatient, type Grid3 } from './grid';
import { gridWithSpacing, labelsBackToGrid, resampleLinear, resampleNearest, resampleToSpacing, resampleToUniform, resize3d } from './resample';
import { axialGrid, obliqueGrid } from './test-grids';

function fill(grid: Grid3, f: (p: Vec3) => number): Float32Array {
  const [ni, nj, nk] = grid.dims;
  const out = new Float32Array(ni * nj * nk);
  for (let k = 0; k < nk; k++) for (let j = 0; j < nj; j++) for (let i = 0; i < ni; i++) out[k * ni * nj + j * ni + i] = f(voxelToPatient(grid, i, j, k));
  return out;
}

const linear = (p: Vec3): number => 3 + 0.5 * p[0] - 0.25 * p[1] + 0.125 * p[2];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let p = 0; p < a.length; p++) worst = Math.max(worst, Math.abs((a[p] as number) - (b[p] as number)));
  return worst;
}

describe('resampling', () => {
  it('when resampling onto the same grid, then the image and labels are unchanged exactly', () => {
    const grid = obliqueGrid([7, 6, 5]);
    const image = fill(grid, (p) => Math.sin(p[0]) * 100 + p[2]);
    expect(resampleLinear(image, grid, grid)).toEqual(image);
    const labels = Uint8Array.from(image, (v) => Math.abs(Math.round(v)) % 7);
    expect(resampleNearest(labels, grid, grid)).toEqual(labels);
  });

  it('when a linear function is resampled trilinearly onto an oblique grid inside the source, then it is reproduced exactly', () => {
    const source = axialGrid([30, 30, 30], [1, 1, 1.5], [-15, -15, -20]);
    const target: Grid3 = { ...obliqueGrid([8, 8, 6]), origin: [-5, -4, -6], spacing: [1.3, 0.7, 1.9] };
    const got = resampleLinear(fill(source, linear), source, target);
    expect(maxAbsDiff(got, fill(target, linear))).toBeLessThan(1e-5);
  });

  it('when a target voxel lies outside the source, then it gets the outside value', () => {
    const source = axialGrid([4, 4, 4]);
    const target = axialGrid([1, 1, 2], [1, 1, 1], [1, 1, 3.4]); // k = 3.4 (inside half a voxel) and 4.4 (outside)
    expect(Array.from(resampleLinear(fill(source, linear), source, target, { outside: -1024 }))).toEqual([Math.fround(linear([1, 1, 3])), -1024]);
    expect(Array.from(resampleNearest(new Uint8Array(64).fill(5), source, target))).toEqual([5, 0]);
  });

  it('when a smooth image goes 1 mm → 2 mm → 1 mm, then it stays within tolerance', () => {
    const grid = axialGrid([40, 40, 40], [1, 1, 1], [-20, -20, -20]);
    const smooth = (p: Vec3): number => 100 * Math.cos(p[0] / 12) * Math.cos(p[1] / 15) + 20 * Math.sin(p[2] / 10);
    const image = fill(grid, smooth);
    const coarse = resampleToSpacing(image, grid, [2, 2, 2]);
    expect(coarse.grid.dims).toEqual([20, 20, 20]);
    expect(coarse.grid.origin).toEqual(grid.origin);
    const back = resampleLinear(coarse.data, coarse.grid, grid);
    // Error bound: second derivative (≤ 100/144 + 20/100 per mm²) times (2 mm)²/8 per axis, plus the last half voxel
    // clamped at the far edge (slope ≤ 8.4 per mm over 1 mm).
    expect(maxAbsDiff(back, image)).toBeLessThan(9);
    // Away from the far edge the error is interpolation only.
    let inner = 0;
    for (let k = 0; k < 38; k++) for (let j = 0; j < 38; j++) for (let i = 0; i < 38; i++) {
      const p = k * 1600 + j * 40 + i;
      inner = Math.max(inner, Math.abs((back[p] as number) - (image[p] as number)));
    }
    expect(inner).toBeLessThan(1);
  });

  it('when labels go coarse → fine → coarse at integer factors 2 and 3, then they come back exactly', () => {
    for (const factor of [2, 3]) {
      const coarse = obliqueGrid([6, 5, 4]);
      coarse.spacing = [factor, factor, factor];
      const labels = Uint8Array.from({ length: 120 }, (_, p) => (p * 7919) % 5);
      const fine = gridWithSpacing(coarse, [1, 1, 1]);
      // Same origin: the fine grid is the coarse grid's corner voxel centre onward.
      const up = resampleNearest(labels, coarse, fine);
      expect(labelsBackToGrid(up, fine, coarse)).toEqual(labels);
    }
  });

  it('when spacing changes, then extent is preserved and dims round', () => {
    const grid = axialGrid([512, 512, 301], [0.7, 0.7, 1.25]);
    expect(gridWithSpacing(grid, [1.5, 1.5, 2]).dims).toEqual([239, 239, 188]);
  });

  it('when slices are uneven, then resampling to uniform reproduces a function linear along k', () => {
    const grid: Grid3 = { ...axialGrid([3, 2, 5], [1, 1, 2]), sliceOffsets: [0, 2, 3, 6, 8] };
    const uniform = resampleToUniform(fill(grid, linear), grid);
    expect(uniform.grid.sliceOffsets).toBeUndefined();
    expect(uniform.grid.spacing[2]).toBe(2);
    expect(maxAbsDiff(uniform.data, fill(uniform.grid, linear))).toBeLessThan(1e-5);
  });

  it('when labels go back to an uneven source grid, then each source slice takes the nearest model slice', () => {
    const source: Grid3 = { ...axialGrid([1, 1, 4], [1, 1, 1]), sliceOffsets: [0, 1, 2.9, 4.4] };
    const model = axialGrid([1, 1, 5], [1, 1, 1]);
    expect(Array.from(labelsBackToGrid(Uint8Array.from([10, 11, 12, 13, 14]), model, source))).toEqual([10, 11, 13, 14]);
  });

  it('when resizing 3D by 2, then edges align like torch interpolate(align_corners=False)', () => {
    // 1D along i: [0, 10] → 4 samples at source coordinates -0.25, 0.25, 0.75, 1.25 → 0, 2.5, 7.5, 10.
    const r = resize3d(Float32Array.from([0, 10]), axialGrid([2, 1, 1]), [4, 1, 1]);
    expect(Array.from(r.data)).toEqual([0, 2.5, 7.5, 10]);
    expect(r.grid.origin[0]).toBeCloseTo(-0.25, 12);
  });
});
