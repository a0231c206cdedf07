import type { Vec3 } from '../domain/study';
import type { Volume } from '../domain/volume';
import { voxelToPatient, type Grid3 } from './grid';
import { prepareVolume } from './prepare';
import { sagittalGrid } from './test-grids';

function volumeOn(grid: Grid3, data: Float32Array, slicePositions?: Vec3[]): Volume {
  const [u, v, w] = grid.direction;
  const positions = slicePositions ?? Array.from({ length: grid.dims[2] }, (_, k) => voxelToPatient(grid, 0, 0, k));
  return {
    columns: grid.dims[0],
    rows: grid.dims[1],
    slices: grid.dims[2],
    spacing: grid.spacing,
    origin: grid.origin,
    orientation: [...u, ...v],
    normal: w,
    frameOfReferenceUid: '1.2.3',
    data,
    sources: positions.map((p, k) => ({ sopInstanceUid: `1.2.${k}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4', imagePositionPatient: p })),
  };
}

describe('prepareVolume', () => {
  it('when a sagittal series is reoriented to RAS and cropped/padded, then labels map back to the very voxels they came from', () => {
    const grid = sagittalGrid([6, 5, 4]);
    const codes = Float32Array.from({ length: 120 }, (_, p) => p + 1);
    const prepared = prepareVolume(volumeOn(grid, codes), { orientation: 'RAS', cropOrPadTo: [3, 6, 3] });
    // Reoriented dims are [4, 6, 5] (i ← k, j ← i, k ← j); cropped/padded to [3, 6, 3].
    expect(prepared.grid.dims).toEqual([3, 6, 3]);
    expect(prepared.tensor.length).toBe(54);
    const labels = Uint8Array.from(prepared.tensor);
    const restored = prepared.restoreLabels(labels);
    expect(restored.length).toBe(120);
    let kept = 0;
    restored.forEach((v, p) => {
      if (v !== 0) {
        expect(v).toBe(p + 1);
        kept++;
      }
    });
    expect(kept).toBe(labels.filter((v) => v !== 0).length);
    expect(kept).toBe(3 * 6 * 3);
  });

  it('when only intensity is configured, then the tensor is normalised and the volume is left untouched', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const grid: Grid3 = { dims: [2, 2, 2], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
    const prepared = prepareVolume(volumeOn(grid, data), { normalize: 'minmax' });
    expect(Array.from(prepared.tensor)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((v) => Math.fround(v / 7)));
    expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(prepared.restoreLabels(new Uint8Array(8).fill(2))).toEqual(new Uint8Array(8).fill(2));
  });

  it('when slices are uneven and the model does not allow resampling, then the series is refused', () => {
    const grid: Grid3 = { dims: [2, 2, 3], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
    const volume = volumeOn(grid, new Float32Array(12), [[0, 0, 0], [0, 0, 2], [0, 0, 5]]);
    expect(() => prepareVolume(volume, {})).toThrow(/non-uniform slice spacing/);
  });

  it('when slices are uneven and resampling is allowed with a target spacing, then the model grid samples the image linearly', () => {
    const grid: Grid3 = { dims: [4, 4, 4], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
    const zs = [0, 2, 5, 6];
    const f = (p: Vec3): number => 10 + p[0] + 2 * p[1] + 3 * p[2];
    const data = new Float32Array(64);
    for (let k = 0; k < 4; k++) for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) data[k * 16 + j * 4 + i] = f([i, j, zs[k] as number]);
    const volume = volumeOn(grid, data, zs.map((z) => [0, 0, z]));
    const prepared = prepareVolume(volume, { nonUniformSpacing: 'resample', targetSpacing: [1, 1, 1] });
    expect(prepared.sourceGrid.sliceOffsets).toEqual(zs);
    // Extent along k: 4 slices × mean gap 2 mm = 8 mm → 8 slices of 1 mm; those within the source agree with f.
    expect(prepared.grid.dims).toEqual([4, 4, 8]);
    for (let k = 0; k <= 6; k++) expect(prepared.tensor[k * 16 + 5]).toBeCloseTo(f([1, 1, k]), 4);
    const restored = prepared.restoreLabels(Uint8Array.from({ length: 128 }, (_, p) => Math.floor(p / 16)));
    expect(Array.from({ length: 4 }, (_, k) => restored[k * 16])).toEqual([0, 2, 5, 6]);
  });

  it('when a sagittal series is reoriented and resampled, then it is interpolated once onto an RAS grid at the target spacing', () => {
    const grid = sagittalGrid([12, 10, 8]);
    const f = (p: Vec3): number => 5 + 0.5 * p[0] - p[1] + 0.25 * p[2];
    const data = new Float32Array(12 * 10 * 8);
    for (let k = 0; k < 8; k++) for (let j = 0; j < 10; j++) for (let i = 0; i < 12; i++) data[k * 120 + j * 12 + i] = f(voxelToPatient(grid, i, j, k));
    const prepared = prepareVolume(volumeOn(grid, data), { orientation: 'RAS', targetSpacing: [2, 2, 2] });
    expect(prepared.grid.direction.map((d) => d.map((x) => x + 0))).toEqual([[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    // Reoriented extent [8 × 3, 12 × 1, 10 × 1.2] mm at 2 mm.
    expect(prepared.grid.dims).toEqual([12, 6, 6]);
    const [ni, nj] = prepared.grid.dims;
    // Voxels inside the source's sample hull reproduce the linear function (edges are clamped half a voxel).
    for (let k = 1; k < 5; k++) for (let j = 1; j < 5; j++) for (let i = 1; i < 10; i++) {
      expect(prepared.tensor[k * ni * nj + j * ni + i]).toBeCloseTo(f(voxelToPatient(prepared.grid, i, j, k)), 3);
    }
    const restored = prepared.restoreLabels(new Uint8Array(12 * 6 * 6).fill(1));
    expect(restored.length).toBe(960);
    expect(restored.every((v) => v === 1)).toBe(true);
  });

  it('when channels are configured, then the tensor is [C, k, j, i]', () => {
    const grid: Grid3 = { dims: [2, 1, 1], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
    const prepared = prepareVolume(volumeOn(grid, Float32Array.from([0, 100])), {
      channels: [{ intensity: [{ op: 'scale', multiply: 2, add: 0 }] }, { intensity: [{ op: 'minmax' }] }],
    });
    expect(prepared.channels).toBe(2);
    expect(Array.from(prepared.tensor)).toEqual([0, 200, 0, 1]);
  });
});
