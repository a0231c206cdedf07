/**
 * Measures 1-bit SEG packing throughput on a 512 x 512 x 300 label map with 5 labels (target >= 1 Gvox/s).
 * Run: npx ts-node --transpile-only bench/seg-pack.ts   (or node dist/bench/seg-pack.js after `npm run build`)
 * Prints results only; it asserts nothing and writes no files.
 */
import { packFrames, type FrameSelector } from '../src/dicom/seg/bitpack';

const COLUMNS = 512;
const ROWS = 512;
const SLICES = 300;
const LABELS = 5;
const RUNS = 5;

function syntheticLabelMap(): Uint8Array {
  // Concentric shells: every label has voxels on every slice, the worst case for frame count.
  const data = new Uint8Array(COLUMNS * ROWS * SLICES);
  for (let k = 0; k < SLICES; k++) {
    for (let j = 0; j < ROWS; j++) {
      for (let i = 0; i < COLUMNS; i++) {
        const r = Math.hypot(i - COLUMNS / 2, j - ROWS / 2);
        data[k * ROWS * COLUMNS + j * COLUMNS + i] = Math.min(LABELS, Math.floor(r / 50));
      }
    }
  }
  return data;
}

function main(): void {
  const labels = syntheticLabelMap();
  const pixels = ROWS * COLUMNS;
  const frames: FrameSelector[] = [];
  for (let value = 1; value <= LABELS; value++) {
    for (let k = 0; k < SLICES; k++) frames.push({ offset: k * pixels, value });
  }
  const voxels = frames.length * pixels;
  packFrames(labels, pixels, frames.slice(0, 50)); // warm-up so the JIT has optimised the loop
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    const packed = packFrames(labels, pixels, frames);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (packed.length === 0) throw new Error('nothing packed');
    rates.push(voxels / seconds / 1e9);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  console.log(
    `seg-pack: ${COLUMNS}x${ROWS}x${SLICES}, ${LABELS} segments, ${frames.length} frames, ` +
      `${(voxels / 1e6).toFixed(0)} Mvox packed per run; median ${median.toFixed(2)} Gvox/s ` +
      `(min ${rates[0]?.toFixed(2)}, max ${rates[rates.length - 1]?.toFixed(2)}, ${RUNS} runs)`,
  );
}

main();
