/**
 * Compressed pixel data against decoders we did not write: DCMTK's dcmdjpeg/dcmdjpls/dcmdrle (their output read with
 * our native decoder, itself checked against pydicom in decode-pydicom.test.ts) and OpenJPEG's opj_decompress for
 * JPEG 2000 / HTJ2K (Debian's DCMTK has no JPEG 2000 decoder). Inputs: Debian's python3-pydicom test files and files
 * made here with DCMTK's encoders from real uncompressed images (the sample MR series, pydicom's CT_small.dcm, an RGB
 * image).
 *
 * Tolerances (max abs difference, in stored units, against the reference decoder of the same file):
 * - every lossless syntax (RLE, JPEG process 14 / SV1, JPEG-LS lossless, JPEG 2000 lossless, HTJ2K lossless): 0
 * - JPEG baseline and extended (lossy): 1 — both sides are IJG with the same IDCT; observed 0, 1 allows for IDCT
 *   rounding should the builds differ
 * - JPEG-LS near-lossless: 0 against dcmdjpls (decoding is deterministic), ≤ NEAR against the original image
 * - JPEG 2000 lossy: 1 against opj_decompress (same library, observed 0)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context, NativeCodecs } from 'dcmjs-codecs';
import { decodeFrames, loadPixelCodecs, type DecodedFrames } from '../../src/dicom/decode';
import { readPart10, type ParsedPart10 } from '../../src/dicom/part10';
import { thrown } from '../support/app-error';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const SAMPLE_MR = join(__dirname, '../fixtures/sample-mr/dicom');
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

const TOOLS: Record<string, string> = {
  dcmcjpeg: 'dcmtk',
  dcmdjpeg: 'dcmtk',
  dcmcjpls: 'dcmtk',
  dcmdjpls: 'dcmtk',
  dcmcrle: 'dcmtk',
  dcmdrle: 'dcmtk',
  dcmconv: 'dcmtk',
  dcmdump: 'dcmtk',
  opj_decompress: 'libopenjp2-tools',
};

function requireTools(): void {
  const missing = Object.entries(TOOLS).filter(([tool]) => !['/usr/bin', '/usr/local/bin'].some((d) => existsSync(join(d, tool))));
  if (missing.length > 0) {
    throw new Error(`missing tools for the codec tests: ${missing.map(([t, p]) => `${t} (apt package ${p})`).join(', ')}`);
  }
  if (!existsSync(PYDICOM)) throw new Error(`pydicom test files not found in ${PYDICOM}: install the apt package python3-pydicom`);
}

let dir = '';
let counter = 0;

function run(tool: string, args: string[]): void {
  execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tmp(name: string): string {
  return join(dir, `${counter++}-${name}`);
}

function parse(path: string): ParsedPart10 {
  return readPart10(new Uint8Array(readFileSync(path)));
}

/** All samples of all frames: RGB for colour, modality values for grayscale. */
function samples(decoded: DecodedFrames): Float32Array {
  const parts = decoded.rgb ?? decoded.frames;
  const out = new Float32Array(parts.reduce((n, f) => n + f.length, 0));
  parts.reduce((at, f) => (out.set(f, at), at + f.length), 0);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** Decompresses with DCMTK to Explicit VR Little Endian and decodes that with our native decoder. */
function dcmtkReference(path: string): Float32Array {
  const ts = parse(path).transferSyntaxUid;
  const tool = ts === '1.2.840.10008.1.2.5' ? 'dcmdrle' : ts.startsWith('1.2.840.10008.1.2.4.8') ? 'dcmdjpls' : 'dcmdjpeg';
  const out = tmp('ref.dcm');
  run(tool, ['+te', path, out]);
  const parsed = parse(out);
  expect(parsed.transferSyntaxUid).toBe(EXPLICIT_LE);
  return samples(decodeFrames(parsed));
}

/** opj_decompress on the codestream of each frame (extracted by dcmdump +W), wrapped as native data and decoded. */
function openJpegReference(parsed: ParsedPart10, codestreams: Uint8Array[]): Float32Array {
  const planes = codestreams.map((codestream) => {
    const input = tmp('frame.j2k');
    const output = tmp('frame.rawl');
    writeFileSync(input, codestream);
    run('opj_decompress', ['-quiet', '-i', input, '-o', output]);
    return new Uint8Array(readFileSync(output));
  });
  const joined = new Uint8Array(planes.reduce((n, p) => n + p.byteLength, 0));
  planes.reduce((at, p) => (joined.set(p, at), at + p.byteLength), 0);
  const colour = parsed.dataset.SamplesPerPixel === 3;
  const dataset = {
    ...parsed.dataset,
    PixelData: [joined.buffer],
    // opj writes raw components one after the other, after undoing the component transform.
    ...(colour ? { PlanarConfiguration: 1, PhotometricInterpretation: 'RGB' } : {}),
  };
  return samples(decodeFrames({ ...parsed, transferSyntaxUid: EXPLICIT_LE, dataset }));
}

function extractedCodestreams(path: string): Uint8Array[] {
  const out = mkdtempSync(join(dir, 'items-'));
  run('dcmdump', ['-q', '+W', out, path]);
  const items = readdirSync(out)
    .map((name) => ({ name, index: Number(/\.(\d+)\.raw$/.exec(name)?.[1]) }))
    .sort((a, b) => a.index - b.index)
    .slice(1) // item 0 is the Basic Offset Table
    .map(({ name }) => new Uint8Array(readFileSync(join(out, name))));
  return items;
}

let mr = '';
let mr12 = '';
let ct = '';
let rgb = '';
let rgb2frame = '';

beforeAll(async () => {
  requireTools();
  await loadPixelCodecs();
  dir = mkdtempSync(join(tmpdir(), 'decode-codecs-'));
  mr = join(SAMPLE_MR, 'IM0045.dcm');
  ct = join(PYDICOM, 'CT_small.dcm');
  // A 12-bit version of the MR slice for JPEG extended and 12-bit lossless (its values are below 4096).
  mr12 = tmp('mr12.dcm');
  run('dcmconv', [mr, mr12]);
  run('dcmodify', ['-nb', '-m', '(0028,0101)=12', '-m', '(0028,0102)=11', mr12]);
  // Uncompressed RGB images made from pydicom's lossless RGB files by DCMTK.
  rgb = tmp('rgb.dcm');
  run('dcmdjpeg', ['+te', join(PYDICOM, 'SC_rgb_jpeg_gdcm.dcm'), rgb]);
  rgb2frame = tmp('rgb2.dcm');
  run('dcmdrle', ['+te', join(PYDICOM, 'SC_rgb_rle_2frame.dcm'), rgb2frame]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('lossless syntaxes decode pixel-exact equal to DCMTK', () => {
  const PYDICOM_LOSSLESS = [
    'MR_small_RLE.dcm',
    'MR_small_jpeg_ls_lossless.dcm',
    'rtdose_rle.dcm', // 32-bit, 15 frames
    'SC_rgb_rle.dcm',
    'SC_rgb_rle_16bit_2frame.dcm',
    'SC_rgb_rle_32bit.dcm',
    'SC_rgb_jpeg_gdcm.dcm', // JPEG lossless SV1, RGB
  ];

  it.each(PYDICOM_LOSSLESS)('when pydicom file %s is decoded, then it equals DCMTK', (name) => {
    const path = join(PYDICOM, name);
    const ours = samples(decodeFrames(parse(path)));
    expect(maxAbsDiff(ours, dcmtkReference(path))).toBe(0);
    expect(new Set(ours).size).toBeGreaterThan(1);
  });

  type Made = [label: string, source: () => string, tool: string, options: string[]];
  const MADE: Made[] = [
    ['MR JPEG lossless SV1 (dcmcjpeg +e1)', () => mr, 'dcmcjpeg', ['+e1']],
    ['MR JPEG lossless process 14, predictor 6 (dcmcjpeg +el +sv 6)', () => mr, 'dcmcjpeg', ['+el', '+sv', '6']],
    ['CT signed JPEG lossless process 14, predictor 7', () => ct, 'dcmcjpeg', ['+el', '+sv', '7']],
    ['MR JPEG lossless SV1, many fragments per frame and no offset table', () => mr, 'dcmcjpeg', ['+e1', '+fs', '1', '-ot']],
    ['CT signed JPEG lossless SV1', () => ct, 'dcmcjpeg', ['+e1']],
    ['MR 12-bit JPEG lossless SV1', () => mr12, 'dcmcjpeg', ['+e1']],
    ['RGB JPEG lossless SV1', () => rgb, 'dcmcjpeg', ['+e1']],
    ['MR JPEG-LS lossless', () => mr, 'dcmcjpls', []],
    ['CT signed JPEG-LS lossless', () => ct, 'dcmcjpls', []],
    ['RGB JPEG-LS lossless, sample-interleaved', () => rgb, 'dcmcjpls', ['+is']],
    ['RGB 2-frame JPEG-LS lossless, no interleave', () => rgb2frame, 'dcmcjpls', ['+in']],
    ['RGB 2-frame JPEG-LS, many fragments per frame and no offset table', () => rgb2frame, 'dcmcjpls', ['+fs', '1', '-ot']],
    ['MR RLE', () => mr, 'dcmcrle', []],
    ['CT signed RLE', () => ct, 'dcmcrle', []],
    ['RGB RLE', () => rgb, 'dcmcrle', []],
  ];

  it.each(MADE)('when %s is decoded, then it equals DCMTK and the original', (_label, source, tool, options) => {
    const compressed = tmp('made.dcm');
    run(tool, [...options, source(), compressed]);
    const parsed = parse(compressed);
    expect(parsed.transferSyntaxUid).not.toBe(EXPLICIT_LE);
    const ours = samples(decodeFrames(parsed));
    expect(maxAbsDiff(ours, dcmtkReference(compressed))).toBe(0);
    expect(maxAbsDiff(ours, samples(decodeFrames(parse(source()))))).toBe(0);
  });
});

describe('lossy syntaxes decode within the documented tolerance of DCMTK', () => {
  it.each(['JPGExtended.dcm', 'JPEG-lossy.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_dcmtk_+eb+cy+s4.dcm', 'SC_rgb_jpeg_lossy_gdcm.dcm', 'SC_rgb_small_odd_jpeg.dcm'])(
    'when pydicom file %s is decoded, then it is within 1 of dcmdjpeg',
    (name) => {
      const path = join(PYDICOM, name);
      expect(maxAbsDiff(samples(decodeFrames(parse(path))), dcmtkReference(path))).toBeLessThanOrEqual(1);
    },
  );

  type Made = [label: string, source: () => string, tool: string, options: string[], tolerance: number];
  const MADE: Made[] = [
    ['MR JPEG baseline (dcmcjpeg +eb), tolerance 1', () => mr, 'dcmcjpeg', ['+eb'], 1],
    ['MR 12-bit JPEG extended (dcmcjpeg +ee), tolerance 1', () => mr12, 'dcmcjpeg', ['+ee'], 1],
    ['RGB JPEG baseline, YBR_FULL_422, tolerance 1', () => rgb, 'dcmcjpeg', ['+eb'], 1],
    ['RGB JPEG baseline, YBR_FULL 4:4:4, tolerance 1', () => rgb, 'dcmcjpeg', ['+eb', '+s4'], 1],
    ['MR JPEG-LS near-lossless NEAR 3, tolerance 0', () => mr, 'dcmcjpls', ['+en', '+md', '3'], 0],
  ];

  it.each(MADE)('when %s is decoded, then it is within that tolerance of DCMTK', (_label, source, tool, options, tolerance) => {
    const compressed = tmp('lossy.dcm');
    run(tool, [...options, source(), compressed]);
    expect(maxAbsDiff(samples(decodeFrames(parse(compressed))), dcmtkReference(compressed))).toBeLessThanOrEqual(tolerance);
  });

  it('when JPEG-LS near-lossless with NEAR 3 is decoded, then no pixel is more than 3 from the original', () => {
    const compressed = tmp('near.dcm');
    run('dcmcjpls', ['+en', '+md', '3', mr, compressed]);
    const error = maxAbsDiff(samples(decodeFrames(parse(compressed))), samples(decodeFrames(parse(mr))));
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThanOrEqual(3);
  });
});

describe('JPEG 2000 and HTJ2K decode equal to opj_decompress', () => {
  it.each([
    ['MR_small_jp2klossless.dcm', 0],
    ['GDCMJ2K_TextGBR.dcm', 0], // YBR_RCT colour
    ['JPEG2000.dcm', 1], // lossy, signed
    ['693_J2KI.dcm', 1], // lossy, 14 bits stored, signed
  ] as const)('when pydicom file %s is decoded, then it is within %d of OpenJPEG', (name, tolerance) => {
    const path = join(PYDICOM, name);
    const parsed = parse(path);
    const ours = samples(decodeFrames(parsed));
    expect(maxAbsDiff(ours, openJpegReference(parsed, extractedCodestreams(path)))).toBeLessThanOrEqual(tolerance);
    expect(new Set(ours).size).toBeGreaterThan(1);
  });

  it('when an HTJ2K lossless frame of the MR is decoded, then it equals OpenJPEG and the original', () => {
    const source = parse(mr);
    const original = new Uint8Array(source.dataset.PixelData instanceof Array ? (source.dataset.PixelData[0] as ArrayBuffer) : new ArrayBuffer(0));
    const encoded = NativeCodecs.encodeHtJpeg2000(
      new Context({ width: 128, height: 128, bitsAllocated: 16, bitsStored: 16, samplesPerPixel: 1, pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'MONOCHROME2', decodedBuffer: original }),
      { lossy: false },
    ).getEncodedBuffer() as Uint8Array;
    const htj2k: ParsedPart10 = { ...source, transferSyntaxUid: '1.2.840.10008.1.2.4.201', dataset: { ...source.dataset, PixelData: [encoded.slice().buffer] } };
    const ours = samples(decodeFrames(htj2k));
    expect(maxAbsDiff(ours, openJpegReference(htj2k, [encoded]))).toBe(0);
    expect(maxAbsDiff(ours, samples(decodeFrames(source)))).toBe(0);
  });
});

describe('broken compressed data gives BAD_DICOM and no crash', () => {
  it('when a JPEG-LS file is cut inside its pixel data, then BAD_DICOM says it is truncated', () => {
    const compressed = tmp('jls.dcm');
    run('dcmcjpls', [mr, compressed]);
    const bytes = readFileSync(compressed);
    const err = thrown(() => decodeFrames(readPart10(new Uint8Array(bytes.subarray(0, bytes.length - 500)))));
    expect(err.code).toBe('BAD_DICOM');
    expect(err.message).toMatch(/truncated/);
  });

  it.each([
    ['JPEG baseline', '+eb', 'dcmcjpeg'],
    ['JPEG lossless', '+e1', 'dcmcjpeg'],
    ['JPEG-LS', '+el', 'dcmcjpls'],
  ])('when a %s frame has its header bytes flipped, then BAD_DICOM names the codec', (_label, option, tool) => {
    const compressed = tmp('broken.dcm');
    run(tool, [option, mr, compressed]);
    const parsed = parse(compressed);
    const frame = new Uint8Array((parsed.dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer).slice();
    // Flip every byte of the frame header region after SOI: markers, table and frame header become garbage.
    for (let i = 2; i < Math.min(64, frame.length); i++) frame[i] = (frame[i] as number) ^ 0xff;
    const err = thrown(() => decodeFrames({ ...parsed, dataset: { ...parsed.dataset, PixelData: [frame.buffer] } }));
    expect(err.code).toBe('BAD_DICOM');
    expect(err.message).toMatch(/frame could not be decoded/);
  });

  it('when a JPEG-LS fragment is cut in half, then BAD_DICOM, and a good file decodes afterwards', async () => {
    const compressed = tmp('half.dcm');
    run('dcmcjpls', [mr, compressed]);
    const parsed = parse(compressed);
    const frame = new Uint8Array((parsed.dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer);
    const half = frame.slice(0, frame.length >> 1);
    expect(thrown(() => decodeFrames({ ...parsed, dataset: { ...parsed.dataset, PixelData: [half.buffer] } })).code).toBe('BAD_DICOM');
    await loadPixelCodecs(); // a fresh codec instance after the error
    expect(maxAbsDiff(samples(decodeFrames(parsed)), samples(decodeFrames(parse(mr))))).toBe(0);
  });

  it('when a JPEG 2000 codestream is invalid (pydicom JPEG2000-embedded-sequence-delimiter.dcm), then BAD_DICOM', () => {
    const err = thrown(() => decodeFrames(parse(join(PYDICOM, 'JPEG2000-embedded-sequence-delimiter.dcm'))));
    expect(err.code).toBe('BAD_DICOM');
    expect(err.message).toMatch(/jpeg2000 frame could not be decoded/);
  });

  it('when a multi-frame file has fewer fragments than frames, then BAD_DICOM counts them', () => {
    const parsed = parse(join(PYDICOM, 'rtdose_rle.dcm'));
    const items = parsed.dataset.PixelData as ArrayBuffer[];
    const err = thrown(() => decodeFrames({ ...parsed, dataset: { ...parsed.dataset, PixelData: items.slice(0, 3) } }));
    expect(err.code).toBe('BAD_DICOM');
    expect(err.message).toBe('encapsulated pixel data has 3 fragment(s) for 15 frames');
  });
});
