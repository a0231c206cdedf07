/**
 * Lossless decode throughput of our decoder (dcmjs-codecs WebAssembly, called through decodeFrames) against the
 * reference decoders on the same files in the same run: DCMTK's dcmdjpls for JPEG-LS, OpenJPEG's opj_decompress for
 * JPEG 2000 (Debian's DCMTK has no JPEG 2000 codec). Both sides use one core: our decoder is single-threaded and the
 * reference processes run one after another.
 *
 * Inputs: 512×512 16-bit mosaics of 16 real MR slices each (test/fixtures/sample-mr), JPEG-LS encoded by dcmcjpls and
 * JPEG 2000 lossless encoded by opj_compress. The reference is timed per file as a whole process; its start-up cost
 * (measured as the same tool on an uncompressed file / a 1×1 codestream) is subtracted for ref_mpix_s and kept in
 * ref_mpix_s_with_startup. Ours is timed from the Part 10 bytes in memory (parse + decode + modality values) for
 * JPEG-LS, with ours_decode_only_mpix_s leaving the Part 10 parse out; for JPEG 2000 (codestreams from opj_compress
 * wrapped in memory) both are the decode alone.
 *
 * Run: node dist/bench/decode-vs-dcmtk.js (after `npm run build`). Prints one JSON line per codec; writes no docs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeFrames, loadPixelCodecs } from '../src/dicom/decode';
import { IMPLEMENTATION, readPart10, writePart10, type ParsedPart10 } from '../src/dicom/part10';

const TILE = 128;
const GRID = 4;
const SIZE = TILE * GRID;
const FILES = 8;
const RUNS = 5;
/** Frames in the multi-frame file: enough that DCMTK's decoding, not its process start-up, dominates its time. */
const MULTIFRAME = 32;

function repoRoot(): string {
  // dist/bench/decode-vs-dcmtk.js or bench/decode-vs-dcmtk.ts
  const up = path.resolve(__dirname, '..');
  return path.basename(up) === 'dist' ? path.resolve(up, '..') : up;
}

function run(tool: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error || r.status !== 0) {
    const hint = tool.startsWith('opj_') ? 'libopenjp2-tools' : 'dcmtk';
    throw new Error(`${tool} failed (install the apt package ${hint}?): ${r.error?.message ?? r.stderr.toString().slice(0, 300)}`);
  }
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** 16 consecutive MR slices tiled into one 512×512 image, so the content is real anatomy. */
function mosaic(slices: ParsedPart10[], first: number): { parsed: ParsedPart10; pixels: Uint16Array } {
  const pixels = new Uint16Array(SIZE * SIZE);
  for (let t = 0; t < GRID * GRID; t++) {
    const slice = slices[(first + t) % slices.length] as ParsedPart10;
    const src = new Uint16Array((slice.dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer);
    const ox = (t % GRID) * TILE;
    const oy = Math.floor(t / GRID) * TILE;
    for (let y = 0; y < TILE; y++) pixels.set(src.subarray(y * TILE, (y + 1) * TILE), (oy + y) * SIZE + ox);
  }
  const base = slices[0] as ParsedPart10;
  const dataset = { ...base.dataset, Rows: SIZE, Columns: SIZE, PixelData: [pixels.slice().buffer] };
  return { parsed: { ...base, dataset }, pixels };
}

function pgm(pixels: Uint16Array): Buffer {
  const header = Buffer.from(`P5\n${SIZE} ${SIZE}\n65535\n`, 'ascii');
  const body = Buffer.alloc(pixels.length * 2);
  pixels.forEach((v, i) => body.writeUInt16BE(v, i * 2));
  return Buffer.concat([header, body]);
}

function timeOurs(inputs: Uint8Array[], decode: (bytes: Uint8Array) => void): number {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (const bytes of inputs) decode(bytes);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(times);
}

function timeReference(files: string[], command: (file: string, out: string) => [string, string[]], startup: () => number): { total: number; startup: number } {
  const totals: number[] = [];
  const startups: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let total = 0;
    files.forEach((file, i) => {
      const [tool, args] = command(file, `${file}.out${i}`);
      total += run(tool, args);
    });
    totals.push(total);
    startups.push(startup());
  }
  return { total: median(totals), startup: median(startups) };
}

function result(name: string, ours: number, ref: { total: number; startup: number }, megapixels: number, files: number, oursDecodeOnly: number): Record<string, unknown> {
  const refNet = Math.max(ref.total - ref.startup * files, 1e-9);
  const round = (v: number): number => Math.round(v * 100) / 100;
  return {
    name,
    ours_mpix_s: round(megapixels / ours),
    ref_mpix_s: round(megapixels / refNet),
    ratio: round(refNet / ours),
    ours_decode_only_mpix_s: round(megapixels / oursDecodeOnly),
    ref_mpix_s_with_startup: round(megapixels / ref.total),
    ratio_with_startup: round(ref.total / ours),
    ref_startup_ms: round(ref.startup * 1000),
    files,
    image: `${SIZE}x${SIZE} uint16`,
  };
}

async function main(): Promise<void> {
  await loadPixelCodecs();
  const root = repoRoot();
  const seriesDir = path.join(root, 'test/fixtures/sample-mr/dicom');
  const slices = readdirSync(seriesDir)
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f) => readPart10(new Uint8Array(readFileSync(path.join(seriesDir, f)))));
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-decode-'));
  try {
    const native: string[] = [];
    const jls: string[] = [];
    const j2k: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const { parsed, pixels } = mosaic(slices, 16 + i * 7);
      const nativeFile = path.join(dir, `native${i}.dcm`);
      writeFileSync(nativeFile, writePart10(parsed.dataset, IMPLEMENTATION));
      native.push(nativeFile);
      const jlsFile = path.join(dir, `jls${i}.dcm`);
      run('dcmcjpls', [nativeFile, jlsFile]);
      jls.push(jlsFile);
      const pgmFile = path.join(dir, `img${i}.pgm`);
      writeFileSync(pgmFile, pgm(pixels));
      const j2kFile = path.join(dir, `img${i}.j2k`);
      run('opj_compress', ['-i', pgmFile, '-o', j2kFile]);
      j2k.push(j2kFile);
    }
    const megapixels = (FILES * SIZE * SIZE) / 1e6;

    // JPEG-LS: ours from the Part 10 bytes; dcmdjpls per file, start-up = dcmdjpls on an uncompressed file.
    const jlsBytes = jls.map((f) => new Uint8Array(readFileSync(f)));
    const oursJls = timeOurs(jlsBytes, (bytes) => void decodeFrames(readPart10(bytes)));
    // The same without Part 10 parsing: where the time goes (codec + stored values → modality values).
    const jlsParsed = jlsBytes.map((bytes) => readPart10(bytes));
    let nextJls = 0;
    const oursJlsDecodeOnly = timeOurs(jlsBytes, () => void decodeFrames(jlsParsed[nextJls++ % jlsParsed.length] as ParsedPart10));
    const refJls = timeReference(jls, (file, out) => ['dcmdjpls', [file, out]], () => run('dcmdjpls', [native[0] as string, path.join(dir, 'startup.dcm')]));
    console.log(JSON.stringify(result('JPEG-LS lossless vs dcmdjpls', oursJls, refJls, megapixels, FILES, oursJlsDecodeOnly)));

    // JPEG-LS on one multi-frame file: one dcmdjpls process decodes all frames, so subtracting its start-up (noisy,
    // and as long as several 512² decodes) no longer dominates the reference figure.
    const frames = new Uint16Array(MULTIFRAME * SIZE * SIZE);
    for (let f = 0; f < MULTIFRAME; f++) frames.set(mosaic(slices, (f * 3) % slices.length).pixels, f * SIZE * SIZE);
    const firstMosaic = mosaic(slices, 0).parsed;
    const mfNative = path.join(dir, 'multiframe.dcm');
    writeFileSync(mfNative, writePart10({ ...firstMosaic.dataset, NumberOfFrames: MULTIFRAME, PixelData: [frames.buffer] }, IMPLEMENTATION));
    const mfJls = path.join(dir, 'multiframe-jls.dcm');
    run('dcmcjpls', [mfNative, mfJls]);
    const mfBytes = new Uint8Array(readFileSync(mfJls));
    const check = decodeFrames(readPart10(mfBytes));
    if (check.frames.length !== MULTIFRAME) throw new Error(`multi-frame JPEG-LS decoded to ${check.frames.length} frames`);
    const oursMf = timeOurs([mfBytes], (bytes) => void decodeFrames(readPart10(bytes)));
    const refMf = timeReference([mfJls], (file, out) => ['dcmdjpls', [file, out]], () => run('dcmdjpls', [native[0] as string, path.join(dir, 'startup.dcm')]));
    console.log(
      JSON.stringify({
        ...result(`JPEG-LS lossless, one ${MULTIFRAME}-frame file vs dcmdjpls`, oursMf, refMf, (MULTIFRAME * SIZE * SIZE) / 1e6, 1, oursMf),
        frames: MULTIFRAME,
      }),
    );

    // JPEG 2000: the same codestreams wrapped as JPEG 2000 Lossless data sets for us; opj_decompress on the files.
    const template = readPart10(new Uint8Array(readFileSync(native[0] as string)));
    const j2kParsed = j2k.map((f) => ({
      ...template,
      transferSyntaxUid: '1.2.840.10008.1.2.4.90',
      dataset: { ...template.dataset, PixelData: [Uint8Array.prototype.slice.call(readFileSync(f)).buffer] },
    }));
    let next = 0;
    const oursJ2k = timeOurs(
      j2kParsed.map(() => new Uint8Array(0)),
      () => void decodeFrames(j2kParsed[next++ % j2kParsed.length] as ParsedPart10),
    );
    const tinyPgm = path.join(dir, 'tiny.pgm');
    writeFileSync(tinyPgm, Buffer.from('P5\n1 1\n65535\n\0\0', 'binary'));
    const tinyJ2k = path.join(dir, 'tiny.j2k');
    run('opj_compress', ['-i', tinyPgm, '-o', tinyJ2k, '-n', '1']);
    const refJ2k = timeReference(
      j2k,
      (file, out) => ['opj_decompress', ['-quiet', '-threads', '1', '-i', file, '-o', `${out}.rawl`]],
      () => run('opj_decompress', ['-quiet', '-i', tinyJ2k, '-o', path.join(dir, 'tiny.rawl')]),
    );
    console.log(JSON.stringify(result('JPEG 2000 lossless vs opj_decompress', oursJ2k, refJ2k, megapixels, FILES, oursJ2k)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
