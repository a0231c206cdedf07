/**
 * Issue #4: our SEG encoder against dcmjs 0.51's Cornerstone adapter generateSegmentation, on 512×512 CT slices
 * with a 5-segment label map. Each encoder runs in its own process (seg-vs-dcmjs-driver.js) so peak RSS is its
 * own; both SEGs are then decoded here and compared voxel by voxel with the label map they were built from.
 * Run: npm run build && node --expose-gc dist/bench/seg-vs-dcmjs.js [slices]   (default 300)
 * If dcmjs fails or runs past DCMJS_TIMEOUT_MS at a size, both are measured again at a smaller size, and the line
 * says so. Prints JSON lines; writes only temporary files, removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nums, readPart10 } from '../src/dicom/part10';
import { decodeSegmentation } from '../src/dicom/seg';
import type { SliceSource } from '../src/domain/volume';
import { COLUMNS, CT_IMAGE_STORAGE, ROWS, SEGMENTS, labelMap, slicePosition, sourceFile, sourcePart10, sourceSopInstanceUid } from './seg-vs-dcmjs-input';

const DCMJS_TIMEOUT_MS = 90_000;
const OURS_TIMEOUT_MS = 60_000;
const FALLBACK_SLICES = [100, 50];
const REPEATS = 3;
const MB = 1e6;

interface DriverResult {
  encoder: string;
  slices: number;
  ms: number;
  cpu_ms: number;
  encode_ms?: number;
  baseline_mb: number;
  peak_mb: number;
  seg_bytes: number;
  frames: number;
  segmentation_type: string;
}

type RunOutcome = { ok: true; result: DriverResult } | { ok: false; reason: string };

function runDriver(encoder: 'ours' | 'ours-encode' | 'dcmjs' | 'dcmjs-rle', dir: string, slices: number, out: string, timeoutMs: number): RunOutcome {
  const driver = path.join(__dirname, 'seg-vs-dcmjs-driver.js');
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', driver, encoder, dir, String(slices), out], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error || r.status !== 0) {
    const why = r.signal === 'SIGTERM' ? `timed out after ${timeoutMs / 1000} s` : `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').split('\n').slice(0, 3).join(' ').slice(0, 300)}`;
    return { ok: false, reason: why };
  }
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (!line) return { ok: false, reason: 'driver printed no result' };
  return { ok: true, result: JSON.parse(line) as DriverResult };
}

function grid(slices: number): SliceSource[] {
  return Array.from({ length: slices }, (_, k) => ({ sopInstanceUid: sourceSopInstanceUid(k), sopClassUid: CT_IMAGE_STORAGE, imagePositionPatient: slicePosition(k) }));
}

interface MaskCheck {
  equal: boolean;
  mismatchedVoxels: number;
  /** Slice (in our ascending order) of the SEG's first frame, to show how the encoder ordered frames. */
  firstFrameSlice: number;
}

/** Decodes a SEG onto the source grid and compares it with the label map, every voxel of every slice. */
function checkMasks(file: string, expected: Uint8Array, slices: number): MaskCheck {
  const seg = readPart10(new Uint8Array(readFileSync(file))).dataset;
  const sources = grid(slices);
  const decoded = decodeSegmentation(seg, { rows: ROWS, columns: COLUMNS, slices: sources });
  let mismatched = 0;
  for (let v = 0; v < expected.length; v++) if (decoded.labelMap[v] !== expected[v]) mismatched++;
  const perFrame = seg.PerFrameFunctionalGroupsSequence as Record<string, unknown>[] | undefined;
  const plane = perFrame?.[0]?.PlanePositionSequence;
  const planeItem = (Array.isArray(plane) ? plane[0] : plane) as Record<string, unknown> | undefined;
  const z = planeItem ? nums(planeItem, 'ImagePositionPatient', 3)?.[2] : undefined;
  const firstFrameSlice = z === undefined ? -1 : sources.findIndex((s) => Math.abs(s.imagePositionPatient[2] - z) < 1e-3);
  return { equal: mismatched === 0, mismatchedVoxels: mismatched, firstFrameSlice };
}

function compare(dir: string, slices: number, note: string): boolean {
  const oursFile = path.join(dir, `ours-${slices}.dcm`);
  const dcmjsFile = path.join(dir, `dcmjs-${slices}.dcm`);
  // Each encoder runs REPEATS times, interleaved, each time in a fresh process; times are the medians, and our
  // memory is the largest of our runs (the conservative figure).
  const runs: { d: DriverResult; o: DriverResult; e: DriverResult }[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const dcmjs = runDriver('dcmjs', dir, slices, dcmjsFile, DCMJS_TIMEOUT_MS);
    if (!dcmjs.ok) {
      console.log(`seg-vs-dcmjs: dcmjs at ${slices} slices failed: ${dcmjs.reason}`);
      console.log(JSON.stringify({ name: `SEG build vs dcmjs, 512x512x${slices}, ${SEGMENTS} segments`, slices, dcmjs_failed: dcmjs.reason }));
      return false;
    }
    const ours = runDriver('ours', dir, slices, oursFile, OURS_TIMEOUT_MS);
    if (!ours.ok) throw new Error(`our encoder failed at ${slices} slices: ${ours.reason}`);
    const oursEncode = runDriver('ours-encode', dir, slices, path.join(dir, `ours-encode-${slices}.dcm`), OURS_TIMEOUT_MS);
    if (!oursEncode.ok) throw new Error(`our encoder failed at ${slices} slices: ${oursEncode.reason}`);
    runs.push({ d: dcmjs.result, o: ours.result, e: oursEncode.result });
    console.log(`seg-vs-dcmjs: run ${r + 1}: dcmjs ${dcmjs.result.ms} ms, ours ${ours.result.ms} ms, ours encode-only ${oursEncode.result.ms} ms`);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const summary = (pick: (r: (typeof runs)[number]) => DriverResult): DriverResult => {
    const all = runs.map(pick);
    return { ...all[0]!, ms: median(all.map((x) => x.ms)), encode_ms: median(all.map((x) => x.encode_ms ?? x.ms)), cpu_ms: median(all.map((x) => x.cpu_ms)), peak_mb: Math.max(...all.map((x) => x.peak_mb)), baseline_mb: Math.min(...all.map((x) => x.baseline_mb)) };
  };
  const d = summary((r) => r.d);
  const o = summary((r) => r.o);
  const e = summary((r) => r.e);
  const expected = labelMap(slices);
  const oursCheck = checkMasks(oursFile, expected, slices);
  const dcmjsCheck = checkMasks(dcmjsFile, expected, slices);
  const labelmapMb = expected.length / MB;
  const segMb = o.seg_bytes / MB;
  const memoryTargetMb = labelmapMb + 2 * segMb;
  // The encoder's own memory: what it added over the baseline (sources parsed, label map built), plus the label map it reads.
  const oursMemoryMb = e.peak_mb - e.baseline_mb + labelmapMb;
  console.log(
    `seg-vs-dcmjs: ${slices} slices: ours ${o.ms} ms (encode ${o.encode_ms} ms; ${e.ms} ms in its own run), dcmjs ${d.ms} ms, ` +
      `peak RSS ours ${o.peak_mb} MB / dcmjs ${d.peak_mb} MB (baselines ${o.baseline_mb} / ${d.baseline_mb} MB), ` +
      `masks ours ${oursCheck.mismatchedVoxels} / dcmjs ${dcmjsCheck.mismatchedVoxels} mismatched voxels, ` +
      `first frame on slice ours ${oursCheck.firstFrameSlice} / dcmjs ${dcmjsCheck.firstFrameSlice}`,
  );
  console.log(
    JSON.stringify({
      name: `SEG build vs dcmjs, 512x512x${slices}, ${SEGMENTS} segments`,
      slices,
      frames: `${o.frames} / ${d.frames}`,
      ours_ms: o.ms,
      ours_encode_ms: e.ms,
      ratio_encode_only: +(d.ms / Math.max(1, e.ms)).toFixed(1),
      ratio_encode_only_per_run: runs.map((r) => +(r.d.ms / Math.max(1, r.e.ms)).toFixed(1)),
      dcmjs_ms: d.ms,
      ratio: +(d.ms / Math.max(1, o.ms)).toFixed(1),
      ours_cpu_ms: o.cpu_ms,
      ours_encode_cpu_ms: e.cpu_ms,
      dcmjs_cpu_ms: d.cpu_ms,
      cpu_ratio_encode_only: +(d.cpu_ms / Math.max(1, e.cpu_ms)).toFixed(1),
      cpu_ratio: +(d.cpu_ms / Math.max(1, o.cpu_ms)).toFixed(1),
      ours_peak_mb: o.peak_mb,
      ours_baseline_mb: o.baseline_mb,
      ours_encode_peak_mb: e.peak_mb,
      ours_encode_baseline_mb: e.baseline_mb,
      dcmjs_peak_mb: d.peak_mb,
      dcmjs_baseline_mb: d.baseline_mb,
      labelmap_mb: +labelmapMb.toFixed(1),
      seg_mb: +segMb.toFixed(1),
      dcmjs_seg_mb: +(d.seg_bytes / MB).toFixed(1),
      memory_target_mb: +memoryTargetMb.toFixed(1),
      ours_memory_mb: +oursMemoryMb.toFixed(1),
      memory_target_met: oursMemoryMb <= memoryTargetMb,
      same_masks: oursCheck.equal && dcmjsCheck.equal,
      dcmjs_frame_order: dcmjsCheck.firstFrameSlice === slices - 1 ? 'descending along the normal (re-sorted)' : `first frame on slice ${dcmjsCheck.firstFrameSlice}`,
      note,
    }),
  );
  dcmjsDefaults(dir, slices, o);
  return true;
}

/** dcmjs with its default options writes an RLE FRACTIONAL SEG; timed for context, masks not decoded (our decoder reads BINARY). */
function dcmjsDefaults(dir: string, slices: number, ours: DriverResult): void {
  const r = runDriver('dcmjs-rle', dir, slices, path.join(dir, `dcmjs-rle-${slices}.dcm`), DCMJS_TIMEOUT_MS);
  const name = `SEG build vs dcmjs default options (RLE, FRACTIONAL), 512x512x${slices}, ${SEGMENTS} segments`;
  if (!r.ok) {
    console.log(JSON.stringify({ name, slices, dcmjs_failed: r.reason }));
    return;
  }
  const d = r.result;
  console.log(
    JSON.stringify({
      name,
      slices,
      ours_ms: ours.ms,
      dcmjs_ms: d.ms,
      ratio: +(d.ms / Math.max(1, ours.ms)).toFixed(1),
      dcmjs_peak_mb: d.peak_mb,
      dcmjs_baseline_mb: d.baseline_mb,
      dcmjs_seg_mb: +(d.seg_bytes / MB).toFixed(1),
      dcmjs_segmentation_type: d.segmentation_type,
      same_masks: 'not checked (FRACTIONAL RLE)',
    }),
  );
}

function main(): void {
  const requested = Number(process.argv[2] ?? 300);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'seg-vs-dcmjs-'));
  try {
    for (let k = 0; k < requested; k++) writeFileSync(sourceFile(dir, k), sourcePart10(k));
    const note =
      'ours_ms, dcmjs_ms: source Part 10 bytes + label map -> SEG Part 10 bytes, both parsing every source (ours up to Pixel Data, which a SEG does not need); ' +
      '*_cpu_ms: CPU time (user + system, V8 background threads included) of the same sections; ' +
      `times: medians of ${REPEATS} interleaved runs, each in a fresh process; memory: the largest of our runs; ` +
      'ours_encode_ms: buildSegmentation + toPart10 alone (sources parsed before the clock, in a separate process); ' +
      'ours_memory_mb = ours_encode peak - baseline + label map; dcmjs: Cornerstone adapter generateSegmentation, rleEncode false (BINARY), ' +
      'images and labelmaps2D handed over in its own descending sort order';
    if (compare(dir, requested, note)) return;
    for (const slices of FALLBACK_SLICES.filter((s) => s < requested)) {
      if (compare(dir, slices, `${note}; dcmjs could not do ${requested} slices, so both ran at ${slices}`)) return;
    }
    throw new Error('dcmjs failed at every size tried');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
