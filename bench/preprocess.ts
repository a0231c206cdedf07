/**
 * Times each elementwise intensity pass over a 512 x 512 x 300 float32 volume against a plain memory copy of the same
 * array (Float32Array.prototype.set), measured side by side in one run, and for context resampleToSpacing 1 → 2 mm.
 * Run: node dist/bench/preprocess.js (after `npm run build`). Prints JSON lines only; writes no files.
 */
import type { IntensityOp } from '../src/domain/manifest';
import { applyIntensity } from '../src/preprocessing/intensity';
import { resampleToSpacing } from '../src/preprocessing/resample';
import type { Grid3 } from '../src/preprocessing/grid';

const COLUMNS = 512;
const ROWS = 512;
const SLICES = 300;
const RUNS = 3;

const OPS: { name: string; ops: IntensityOp[] }[] = [
  { name: 'clip', ops: [{ op: 'clip', min: -1000, max: 1000 }] },
  { name: 'window', ops: [{ op: 'window', center: 40, width: 400 }] },
  { name: 'zscore', ops: [{ op: 'zscore' }] },
  { name: 'zscore-nonzero', ops: [{ op: 'zscore', nonzero: true }] },
  { name: 'percentile', ops: [{ op: 'percentile', lower: 0.5, upper: 99.5, clip: true }] },
  { name: 'minmax', ops: [{ op: 'minmax' }] },
  { name: 'scale', ops: [{ op: 'scale', multiply: 2, add: -1024 }] },
];

/** CT-like values: air outside a body ellipse, soft tissue inside, a little noise (integers, as rescaled CT is). */
function syntheticCt(): Float32Array {
  const data = new Float32Array(COLUMNS * ROWS * SLICES);
  let seed = 12345;
  let p = 0;
  for (let k = 0; k < SLICES; k++) {
    for (let j = 0; j < ROWS; j++) {
      for (let i = 0; i < COLUMNS; i++, p++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const noise = (seed >>> 16) % 41 - 20;
        const r = ((i - 256) / 220) ** 2 + ((j - 256) / 180) ** 2;
        data[p] = (r < 1 ? 40 + 300 * Math.cos(k / 40) * (r < 0.1 ? 3 : 0) : -1000) + noise;
      }
    }
  }
  return data;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function main(): void {
  const source = syntheticCt();
  const work = new Float32Array(source.length);
  const round = (x: number): number => Math.round(x * 10) / 10;
  applyIntensity(work.subarray(0, 1 << 16).fill(1), [{ op: 'zscore' }]); // warm-up

  for (const { name, ops } of OPS) {
    const opTimes: number[] = [];
    const copyTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // The copy doubles as the reset of the working array, so both are timed on the same memory back to back.
      let t0 = process.hrtime.bigint();
      work.set(source);
      copyTimes.push(ms(t0));
      t0 = process.hrtime.bigint();
      applyIntensity(work, ops);
      opTimes.push(ms(t0));
    }
    const opMs = median(opTimes);
    const copyMs = median(copyTimes);
    console.log(JSON.stringify({ name, voxels: source.length, ms: round(opMs), memcpy_ms: round(copyMs), ratio: round(opMs / copyMs) }));
  }

  const grid: Grid3 = { dims: [COLUMNS, ROWS, SLICES], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
  const times: number[] = [];
  let outVoxels = 0;
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    outVoxels = resampleToSpacing(source, grid, [2, 2, 2]).data.length;
    times.push(ms(t0));
  }
  const resampleMs = median(times);
  console.log(JSON.stringify({ name: 'resampleToSpacing 1→2 mm (trilinear)', voxels: outVoxels, ms: round(resampleMs), mvox_per_s: round(outVoxels / resampleMs / 1e3) }));
}

main();
