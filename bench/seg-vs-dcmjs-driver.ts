/**
 * One encoder in its own process, so its peak RSS is its own: `node seg-vs-dcmjs-driver.js <encoder> <dir> <slices>
 * <out.dcm>` (encoders: see ENCODERS). Reads the source Part 10 files and builds the label map (the baseline), then
 * times the path from those bytes to SEG Part 10 bytes, writes the SEG to <out.dcm> and prints one JSON line.
 */
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import { writeFileSync } from 'node:fs';
import { CODES } from '../src/domain/codes';
import type { SliceSource } from '../src/domain/volume';
import type { Vec3 } from '../src/domain/study';
import { nums, readPart10, str } from '../src/dicom/part10';
import { buildSegmentation } from '../src/dicom/seg';
import { COLUMNS, FRAME_OF_REFERENCE_UID, PIXEL_SPACING_MM, ROWS, SEGMENTS, SOURCE_SERIES_UID, labelMap, readSources } from './seg-vs-dcmjs-input';

const MB = 1e6;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function peakRssMb(): number {
  return (process.resourceUsage().maxRSS * 1024) / MB; // maxRSS is in KiB
}

/** Our encoder needs the sources' attributes, not their pixels: it parses up to Pixel Data. */
function parseSources(sources: Uint8Array[]): NaturalDataset[] {
  return sources.map((b) => readPart10(b, undefined, { headerOnly: true }).dataset);
}

/** CPU time (user + system) of this process so far, ms: less disturbed than wall time on a shared machine. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Ours: buildSegmentation + toPart10 from the parsed sources' headers. */
function encodeOurs(parsed: NaturalDataset[], labels: Uint8Array, slices: number): { bytes: Uint8Array; encodeMs: number } {
  const sliceSources: SliceSource[] = parsed.map((ds) => ({
    sopInstanceUid: str(ds, 'SOPInstanceUID') ?? '',
    sopClassUid: str(ds, 'SOPClassUID') ?? '',
    imagePositionPatient: (nums(ds, 'ImagePositionPatient', 3) ?? [0, 0, 0]) as Vec3,
  }));
  const first = parsed[0] ?? {};
  const t0 = performance.now();
  const seg = buildSegmentation({
    source: {
      dataset: first,
      slices: sliceSources,
      orientation: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [PIXEL_SPACING_MM, PIXEL_SPACING_MM],
      frameOfReferenceUid: FRAME_OF_REFERENCE_UID,
      seriesInstanceUid: SOURCE_SERIES_UID,
    },
    labelMap: { rows: ROWS, columns: COLUMNS, slices, data: labels },
    segments: Array.from({ length: SEGMENTS }, (_, s) => ({
      labelValue: s + 1,
      label: `Shell ${s + 1}`,
      category: CODES.anatomicalStructure,
      type: CODES.brain,
    })),
    seriesInstanceUid: '2.25.1001',
    sopInstanceUid: '2.25.1002',
    seriesNumber: 900,
    instanceNumber: 1,
    seriesDescription: 'bench',
    contentLabel: 'BENCH',
    algorithm: { name: 'bench', version: '1' },
    equipment: { manufacturer: 'bench', manufacturerModelName: 'bench', deviceSerialNumber: '1', softwareVersions: ['1'] },
    contentDateTime: new Date(0),
  });
  const bytes = seg.toPart10();
  return { bytes, encodeMs: performance.now() - t0 };
}

interface CornerstoneImage {
  imageId: string;
  data: { byteArray: { buffer: ArrayBuffer } };
}
interface Labelmap2D {
  pixelData: Uint8Array;
  segmentsOnLabelmap: number[];
}
interface DcmjsSegmentationAdapter {
  generateSegmentation(images: CornerstoneImage[], labelmap3D: { labelmaps2D: Labelmap2D[]; metadata: unknown[] }, options: Record<string, unknown>): Blob;
}

function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}

/**
 * dcmjs 0.51's documented path from a stack of source images and a labelmap to a SEG: the Cornerstone adapter's
 * generateSegmentation(images, labelmap3D, options). dcmjs sorts the source images along the normal, descending,
 * and takes labelmaps2D[i] to be the mask of its i-th sorted frame, so a caller must hand both over in that order
 * (handing them in ascending order silently puts every mask on the mirrored slice). rleEncode false keeps the SEG
 * BINARY (bit packed) like ours; with the default (true) dcmjs writes an RLE-compressed FRACTIONAL SEG instead.
 */
async function encodeDcmjs(sources: Uint8Array[], labels: Uint8Array, slices: number, rleEncode: boolean): Promise<Uint8Array> {
  const adapter = (dcmjs as unknown as { adapters: { Cornerstone: { Segmentation: DcmjsSegmentationAdapter } } }).adapters.Cornerstone.Segmentation;
  const pixels = ROWS * COLUMNS;
  const descending = Array.from({ length: slices }, (_, i) => slices - 1 - i);
  const images = descending.map((k) => ({ imageId: `wadouri:bench/${k}`, data: { byteArray: { buffer: ownArrayBuffer(sources[k]!) } } }));
  const labelmaps2D = descending.map((k) => {
    const pixelData = labels.subarray(k * pixels, (k + 1) * pixels);
    const present = new Set<number>();
    for (let p = 0; p < pixels; p++) if (pixelData[p] !== 0) present.add(pixelData[p]!);
    return { pixelData, segmentsOnLabelmap: [...present].sort((a, b) => a - b) };
  });
  const metadata: unknown[] = [undefined];
  for (let s = 1; s <= SEGMENTS; s++) {
    metadata.push({
      SegmentNumber: s,
      SegmentLabel: `Shell ${s}`,
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: 'bench',
      SegmentedPropertyCategoryCodeSequence: { CodeValue: CODES.anatomicalStructure.value, CodingSchemeDesignator: 'SCT', CodeMeaning: CODES.anatomicalStructure.meaning },
      SegmentedPropertyTypeCodeSequence: { CodeValue: CODES.brain.value, CodingSchemeDesignator: 'SCT', CodeMeaning: CODES.brain.meaning },
      RecommendedDisplayCIELabValue: [43802, 26566, 37721],
    });
  }
  // The images' buffers and segmentsOnLabelmap are what a Cornerstone app already holds: built before the clock.
  gc();
  baselineMb = process.memoryUsage().rss / MB;
  cpu0 = cpuMs();
  t0 = performance.now();
  const blob = adapter.generateSegmentation(images, { labelmaps2D, metadata }, { includeSliceSpacing: true, rleEncode });
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * ours: source bytes -> SEG bytes, parse included (the same work dcmjs does); ours-encode: sources parsed before the
 * baseline, so peak - baseline is the encoder's own memory; dcmjs: BINARY; dcmjs-rle: dcmjs's default options.
 */
const ENCODERS = ['ours', 'ours-encode', 'dcmjs', 'dcmjs-rle'] as const;
type Encoder = (typeof ENCODERS)[number];

let baselineMb = 0;
let t0 = 0;
let cpu0 = 0;

async function main(): Promise<void> {
  const [encoder, dir, slicesArg, out] = process.argv.slice(2);
  const slices = Number(slicesArg);
  if (!ENCODERS.includes(encoder as Encoder) || !dir || !out || !Number.isInteger(slices)) {
    throw new Error(`usage: seg-vs-dcmjs-driver <${ENCODERS.join('|')}> <dir> <slices> <out.dcm>`);
  }
  const sources = readSources(dir, slices);
  const labels = labelMap(slices);
  let bytes: Uint8Array;
  let encodeMs: number | undefined;
  if (encoder === 'ours') {
    gc();
    baselineMb = process.memoryUsage().rss / MB;
    cpu0 = cpuMs();
    t0 = performance.now();
    ({ bytes, encodeMs } = encodeOurs(parseSources(sources), labels, slices));
  } else if (encoder === 'ours-encode') {
    const parsed = parseSources(sources);
    gc();
    baselineMb = process.memoryUsage().rss / MB;
    cpu0 = cpuMs();
    t0 = performance.now();
    ({ bytes, encodeMs } = encodeOurs(parsed, labels, slices));
  } else {
    bytes = await encodeDcmjs(sources, labels, slices, encoder === 'dcmjs-rle');
  }
  const ms = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  const peakMb = peakRssMb();
  writeFileSync(out, bytes);
  const seg = readPart10(bytes).dataset as NaturalDataset;
  console.log(
    JSON.stringify({
      encoder,
      slices,
      ms: Math.round(ms),
      cpu_ms: Math.round(cpu),
      encode_ms: encodeMs === undefined ? undefined : Math.round(encodeMs),
      baseline_mb: Math.round(baselineMb),
      peak_mb: Math.round(peakMb),
      seg_bytes: bytes.length,
      frames: Number(seg.NumberOfFrames),
      segmentation_type: seg.SegmentationType,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
