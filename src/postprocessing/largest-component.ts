/**
 * Keeps only the largest 26-connected component of chosen labels (everything else of that label becomes 0).
 * Iterative union-find over one raster scan: each voxel is joined with its 13 already-visited neighbours of the same
 * label; roots store their component size as a negative number, so one Int32Array is the only extra memory.
 */
import { AppError } from '../domain/errors';

/** 13 neighbours that precede a voxel in raster order (k, then j, then i): [di, dj, dk]. */
const BACKWARD: [number, number, number][] = [];
for (let dk = -1; dk <= 0; dk++) {
  for (let dj = -1; dj <= 1; dj++) {
    for (let di = -1; di <= 1; di++) {
      if (dk < 0 || dj < 0 || (dj === 0 && di < 0)) BACKWARD.push([di, dj, dk]);
    }
  }
}

function find(parent: Int32Array, x: number): number {
  let root = x;
  while ((parent[root] as number) >= 0) root = parent[root] as number;
  // Path compression keeps later finds near O(1).
  while (x !== root) {
    const next = parent[x] as number;
    parent[x] = root;
    x = next;
  }
  return root;
}

function union(parent: Int32Array, a: number, b: number): void {
  let ra = find(parent, a);
  let rb = find(parent, b);
  if (ra === rb) return;
  // Union by size: sizes are stored negated at roots, so the larger component has the smaller value.
  if ((parent[ra] as number) > (parent[rb] as number)) [ra, rb] = [rb, ra];
  parent[ra] = (parent[ra] as number) + (parent[rb] as number);
  parent[rb] = ra;
}

/**
 * In place on labels of a grid with dims [ni, nj, nk]. which: label values to process, or true for every non-zero
 * label. Ties between equally large components keep the one met first in raster order.
 */
export function keepLargestComponent(labels: Uint8Array, dims: readonly [number, number, number], which: readonly number[] | true): Uint8Array {
  const [ni, nj, nk] = dims;
  const plane = ni * nj;
  if (labels.length !== plane * nk) throw new AppError('INTERNAL', `largest component: ${labels.length} labels for ${dims.join('×')}`);
  const selected = new Uint8Array(256);
  if (which === true) selected.fill(1, 1);
  else for (const v of which) if (Number.isInteger(v) && v > 0 && v < 256) selected[v] = 1;

  const parent = new Int32Array(labels.length).fill(-1);
  const offsets = BACKWARD.map(([di, dj, dk]) => dk * plane + dj * ni + di);
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      const row = k * plane + j * ni;
      for (let i = 0; i < ni; i++) {
        const p = row + i;
        const label = labels[p] as number;
        if (selected[label] === 0) continue;
        const interior = i > 0 && i < ni - 1 && j > 0 && j < nj - 1 && k > 0;
        for (let n = 0; n < 13; n++) {
          if (!interior) {
            const d = BACKWARD[n] as [number, number, number];
            const ii = i + d[0];
            const jj = j + d[1];
            if (ii < 0 || ii >= ni || jj < 0 || jj >= nj || k + d[2] < 0) continue;
          }
          const q = p + (offsets[n] as number);
          if (labels[q] === label) union(parent, p, q);
        }
      }
    }
  }

  const bestRoot = new Int32Array(256).fill(-1);
  const bestSize = new Int32Array(256);
  for (let p = 0; p < labels.length; p++) {
    const label = labels[p] as number;
    if (selected[label] === 0) continue;
    const size = -(parent[p] as number);
    if (size > 0 && size > (bestSize[label] as number)) {
      bestSize[label] = size;
      bestRoot[label] = p;
    }
  }
  for (let p = 0; p < labels.length; p++) {
    const label = labels[p] as number;
    if (selected[label] !== 0 && find(parent, p) !== bestRoot[label]) labels[p] = 0;
  }
  return labels;
}
