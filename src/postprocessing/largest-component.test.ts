import { keepLargestComponent } from './largest-component';

/** Label map from k-slices written as strings of rows, '.' = 0. */
function parse(slices: string[][]): { labels: Uint8Array; dims: [number, number, number] } {
  const nk = slices.length;
  const nj = slices[0]?.length ?? 0;
  const ni = slices[0]?.[0]?.length ?? 0;
  const labels = new Uint8Array(ni * nj * nk);
  slices.forEach((rows, k) => rows.forEach((row, j) => [...row].forEach((c, i) => (labels[k * ni * nj + j * ni + i] = c === '.' ? 0 : Number(c)))));
  return { labels, dims: [ni, nj, nk] };
}

describe('keepLargestComponent', () => {
  it('when two blobs of label 1 exist, then only the larger is kept and label 2 is untouched unless chosen', () => {
    const { labels, dims } = parse([['11..2', '11..2', '....1']]);
    expect(Array.from(keepLargestComponent(labels, dims, [1]))).toEqual(Array.from(parse([['11..2', '11..2', '.....']]).labels));
  });

  it('when voxels touch only at a corner across slices, then they are one 26-connected component', () => {
    // (0,0,0) and (1,1,1) share only a corner: one component of 2, larger than the single voxel at (3,0,0).
    const { labels, dims } = parse([['1..1', '....'], ['....', '.1..']]);
    expect(Array.from(keepLargestComponent(labels, dims, true))).toEqual(Array.from(parse([['1...', '....'], ['....', '.1..']]).labels));
  });

  it('when a component wraps around in a U shape, then union-find merges its branches', () => {
    const { labels, dims } = parse([['1.1.1', '1.1.1', '111.1', '....1']]);
    // U of 7 voxels vs the right column of 4.
    expect(Array.from(keepLargestComponent(labels, dims, true))).toEqual(Array.from(parse([['1.1..', '1.1..', '111..', '.....']]).labels));
  });

  it('when every label is chosen, then each label keeps its own largest component', () => {
    const { labels, dims } = parse([['11.2', '...2', '2..1']]);
    expect(Array.from(keepLargestComponent(labels, dims, true))).toEqual(Array.from(parse([['11.2', '...2', '....']]).labels));
  });

  it('when a large volume is split by a plane, then the larger part is kept (no recursion limits)', () => {
    const dims: [number, number, number] = [64, 64, 64];
    const plane = 64 * 64;
    const labels = new Uint8Array(64 * plane).fill(1);
    labels.fill(0, 20 * plane, 21 * plane);
    const kept = keepLargestComponent(labels, dims, true);
    expect(kept.reduce((a, b) => a + b, 0)).toBe(43 * plane);
    expect(kept[0]).toBe(0);
    expect(kept[64 * plane - 1]).toBe(1);
  });
});
