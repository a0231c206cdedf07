/**
 * Measures 1-bit SEG packing throughput on a 512 x 512 x 300 label map with 5 labels (target >= 1 Gvox/s): the
 * one-pass packer the encoder uses (packLabelMap) and the frame-by-frame one (packFrames, one slice read per
 * segment); and for context the whole buildSegmentation + toPart10 on the same map.
 * Run: npx ts-node --transpile-only bench/seg-pack.ts   (or node dist/bench/seg-pack.js after `npm run build`)
 * Prints results only; it asserts nothing and writes no files.
 */
import { CODES } from '../src/domain/codes';
import { buildSegmentation } from '../src/dicom/seg';
import { packedByteLength, packFrames, packLabelMap, type FrameSelector } from '../src/dicom/seg/bitpack';

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
  console.log(JSON.stringify({ name: 'bit packing frame by frame (packFrames), 512x512x300, 5 segments', gvox_s: +median.toFixed(3), min_gvox_s: +(rates[0] ?? 0).toFixed(3), target: '>= 1 Gvox/s' }));
  onePass(labels, frames);
  wholeSeg(labels);
}

/** packLabelMap: every voxel read once; Gvox/s counts frame voxels written, as above, so the two compare. */
function onePass(labels: Uint8Array, frames: FrameSelector[]): void {
  const pixels = ROWS * COLUMNS;
  const frameOf = new Int32Array(SLICES * 256).fill(-1);
  frames.forEach((frame, f) => {
    frameOf[(frame.offset / pixels) * 256 + frame.value] = f;
  });
  const voxels = frames.length * pixels;
  const rates: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const length = packedByteLength(frames.length, pixels);
    const out = new Uint8Array(length + pixels / 8);
    const t0 = process.hrtime.bigint();
    if (!packLabelMap(labels, pixels, SLICES, frameOf, out, length)) throw new Error('a label without a frame');
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (run > 0) rates.push(voxels / seconds / 1e9); // run 0 warms the JIT up
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  console.log(`seg-pack one pass: median ${median.toFixed(2)} Gvox/s of frames (${((median * labels.length) / voxels).toFixed(2)} Gvox/s of label map read)`);
  console.log(
    JSON.stringify({
      name: 'bit packing one pass over the label map (packLabelMap, the encoder\'s), 512x512x300, 5 segments',
      gvox_s: +median.toFixed(3),
      min_gvox_s: +(rates[0] ?? 0).toFixed(3),
      label_map_gvox_s: +((median * labels.length) / voxels).toFixed(3),
      target: '>= 1 Gvox/s',
    }),
  );
}

/** One full SEG (scan, pack, dataset, Part 10) on the same map, timed by phase. */
function wholeSeg(labels: Uint8Array): void {
  const slices = Array.from({ length: SLICES }, (_, k) => ({
    sopInstanceUid: `2.25.${1000 + k}`,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    imagePositionPatient: [0, 0, k] as [number, number, number],
  }));
  const t0 = process.hrtime.bigint();
  const seg = buildSegmentation({
    source: {
      dataset: { StudyInstanceUID: '2.25.1' },
      slices,
      orientation: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.7, 0.7],
      frameOfReferenceUid: '2.25.2',
      seriesInstanceUid: '2.25.3',
    },
    labelMap: { rows: ROWS, columns: COLUMNS, slices: SLICES, data: labels },
    segments: Array.from({ length: LABELS }, (_, s) => ({
      labelValue: s + 1,
      label: `Segment ${s + 1}`,
      category: CODES.anatomicalStructure,
      type: CODES.brain,
    })),
    seriesInstanceUid: '2.25.4',
    sopInstanceUid: '2.25.5',
    seriesNumber: 1,
    instanceNumber: 1,
    seriesDescription: 'bench',
    contentLabel: 'BENCH',
    algorithm: { name: 'bench', version: '1' },
    equipment: { manufacturer: 'bench', manufacturerModelName: 'bench', deviceSerialNumber: '1', softwareVersions: ['1'] },
    contentDateTime: new Date(0),
  });
  const t1 = process.hrtime.bigint();
  const bytes = seg.toPart10();
  const t2 = process.hrtime.bigint();
  console.log(
    `seg-build: ${seg.numberOfFrames} frames, buildSegmentation ${(Number(t1 - t0) / 1e6).toFixed(0)} ms, ` +
      `toPart10 ${(Number(t2 - t1) / 1e6).toFixed(0)} ms, ${(bytes.length / 1e6).toFixed(1)} MB, ` +
      `rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (label map ${(labels.length / 1e6).toFixed(0)} MB)`,
  );
  console.log(
    JSON.stringify({
      name: 'whole SEG build + Part 10, 512x512x300, 5 segments',
      frames: seg.numberOfFrames,
      build_ms: Math.round(Number(t1 - t0) / 1e6),
      write_ms: Math.round(Number(t2 - t1) / 1e6),
      seg_mb: +(bytes.length / 1e6).toFixed(1),
      rss_mb: Math.round(process.memoryUsage().rss / 1e6),
    }),
  );
}

main();
