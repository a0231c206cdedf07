import { voxelToPatient, type Grid3 } from './grid';
import { planOrientation, reorient, type OrientationCode } from './reorient';
import { obliqueGrid, sagittalGrid } from './test-grids';

/** Data whose value is the source voxel's linear index, so each output voxel tells where it came from. */
function indexData(grid: Grid3): Float32Array {
  return Float32Array.from({ length: grid.dims[0] * grid.dims[1] * grid.dims[2] }, (_, p) => p);
}

function expectPositionsPreserved(source: Grid3, target: OrientationCode): void {
  const r = reorient(indexData(source), source, target);
  const [ni, nj] = source.dims;
  const [ti, tj, tk] = r.grid.dims;
  for (let k = 0; k < tk; k++) {
    for (let j = 0; j < tj; j++) {
      for (let i = 0; i < ti; i++) {
        const from = r.data[k * ti * tj + j * ti + i] as number;
        const si = from % ni;
        const sj = Math.floor(from / ni) % nj;
        const sk = Math.floor(from / (ni * nj));
        const a = voxelToPatient(r.grid, i, j, k);
        const b = voxelToPatient(source, si, sj, sk);
        for (let c = 0; c < 3; c++) expect(a[c]).toBeCloseTo(b[c] as number, 9);
      }
    }
  }
}

describe('reorient', () => {
  it('when a sagittal grid is reoriented to LPS, then axes face +x, +y, +z and every voxel keeps its position', () => {
    const r = reorient(indexData(sagittalGrid()), sagittalGrid(), 'LPS');
    expect(r.grid.direction).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(r.grid.dims).toEqual([4, 6, 5]);
    expect(r.grid.spacing).toEqual([3, 1, 1.2]);
    expectPositionsPreserved(sagittalGrid(), 'LPS');
  });

  it('when a sagittal grid is reoriented to RAS, then axes face -x, -y, +z and every voxel keeps its position', () => {
    const r = reorient(indexData(sagittalGrid()), sagittalGrid(), 'RAS');
    expect(r.grid.direction.map((d) => d.map((x) => x + 0))).toEqual([[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    expectPositionsPreserved(sagittalGrid(), 'RAS');
  });

  it('when an oblique grid is reoriented, then each axis points to the closest target direction and positions are kept', () => {
    for (const target of ['RAS', 'LPS'] as const) {
      const r = reorient(indexData(obliqueGrid()), obliqueGrid(), target);
      const signs = target === 'LPS' ? [1, 1, 1] : [-1, -1, 1];
      r.grid.direction.forEach((d, n) => {
        const dominant = d.map(Math.abs).indexOf(Math.max(...d.map(Math.abs)));
        expect(dominant).toBe(n);
        expect(Math.sign(d[n] as number)).toBe(signs[n]);
      });
      expectPositionsPreserved(obliqueGrid(), target);
    }
  });

  it('when labels on the reoriented grid are restored, then they equal the source exactly', () => {
    for (const grid of [sagittalGrid(), obliqueGrid()]) {
      const labels = Uint8Array.from({ length: grid.dims[0] * grid.dims[1] * grid.dims[2] }, (_, p) => (p * 37) % 251);
      const r = reorient(labels, grid, 'RAS');
      expect(r.data).not.toEqual(labels);
      expect(r.restoreLabels(r.data)).toEqual(labels);
    }
  });

  it('when the grid already faces the target, then nothing is permuted', () => {
    const plan = planOrientation([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 'LPS');
    expect(plan).toEqual({ axes: [0, 1, 2], flips: [false, false, false] });
  });

  it('when uneven slices are flipped, then offsets are mirrored so positions are kept', () => {
    const grid: Grid3 = { dims: [1, 1, 3], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, -1]], sliceOffsets: [0, 1, 4] };
    const r = reorient(Float32Array.from([0, 1, 2]), grid, 'LPS');
    expect(Array.from(r.data)).toEqual([2, 1, 0]);
    expect(r.grid.sliceOffsets).toEqual([0, 3, 4]);
    expect(voxelToPatient(r.grid, 0, 0, 1)[2]).toBeCloseTo(voxelToPatient(grid, 0, 0, 1)[2], 12);
  });
});
