import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { expandYbr422, planarToInterleaved, toLuminance, ybrFullToRgb } from './codecs/colour';
import { framesFromItems } from './codecs/encapsulated';
import { CODEC_FAMILY, decodeFrame, type FrameLayout } from './codecs/wasm-codecs';
import { num, str, type ParsedPart10 } from './part10';

export { loadPixelCodecs, pixelCodecsLoaded } from './codecs/wasm-codecs';
export { toLuminance } from './codecs/colour';

/**
 * Pixel decoding for native and compressed transfer syntaxes. Output values are modality values: stored values
 * (decompressed first where needed, see ./codecs) masked to BitsStored, sign-extended when signed, then
 * RescaleSlope/RescaleIntercept applied.
 */

export const NATIVE_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  // dcmjs inflates the whole dataset while reading, so the pixel data arrives as native little endian bytes.
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
};

const KNOWN_COMPRESSED: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export interface DecodeLimits {
  /** Refuse images with more voxels (rows × columns × frames) than this, before allocating. */
  maxVoxels: number;
}

/** 512 × 512 × 2048 voxels: 2 GiB of float32, more than any single series we expect. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxVoxels: 512 * 512 * 2048 };

export interface DecodedFrames {
  rows: number;
  columns: number;
  /** One array of rows × columns modality values per frame, row by row (colour: BT.601 luminance of `rgb`). */
  frames: Float32Array[];
  /** 1 for grayscale, 3 for colour (decoded to RGB whatever the stored photometric interpretation). */
  samplesPerPixel: 1 | 3;
  /** Colour images only: interleaved R,G,B values (rows × columns × 3) per frame. */
  rgb?: Float32Array[];
}

interface PixelFormat {
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  monochrome1: boolean;
  samplesPerPixel: 1 | 3;
  photometric: string;
  planarConfiguration: 0 | 1;
}

const GRAYSCALE = new Set(['MONOCHROME1', 'MONOCHROME2']);
/** YBR_ICT/YBR_RCT only occur with JPEG 2000, whose decoder undoes the component transform. */
const COLOUR = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT']);

export function transferSyntaxName(uid: string): string {
  return NATIVE_TRANSFER_SYNTAXES[uid] ?? KNOWN_COMPRESSED[uid] ?? 'unknown';
}

function unsupported(message: string): AppError {
  return new AppError('UNSUPPORTED_TRANSFER_SYNTAX', message);
}

function requiredInt(ds: NaturalDataset, keyword: string): number {
  const v = num(ds, keyword);
  if (v === undefined || !Number.isInteger(v) || v < 0) {
    throw new AppError('BAD_DICOM', `${keyword} is missing or not a non-negative integer`);
  }
  return v;
}

function readPixelFormat(ds: NaturalDataset): PixelFormat {
  const samples = num(ds, 'SamplesPerPixel') ?? 1;
  if (samples !== 1 && samples !== 3) throw unsupported(`SamplesPerPixel ${samples} is not supported; only 1 (grayscale) or 3 (colour)`);
  const photometric = (str(ds, 'PhotometricInterpretation') ?? (samples === 1 ? 'MONOCHROME2' : 'RGB')).trim();
  const allowed = samples === 1 ? GRAYSCALE : COLOUR;
  if (!allowed.has(photometric)) {
    throw unsupported(`PhotometricInterpretation ${photometric} with ${samples} sample(s) per pixel is not supported; only ${[...allowed].join('/')}`);
  }
  const bitsAllocated = requiredInt(ds, 'BitsAllocated');
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw unsupported(`BitsAllocated ${bitsAllocated} is not supported; only 8, 16 or 32`);
  }
  const bitsStored = num(ds, 'BitsStored') ?? bitsAllocated;
  const highBit = num(ds, 'HighBit') ?? bitsStored - 1;
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new AppError('BAD_DICOM', `BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  }
  if (!Number.isInteger(highBit) || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new AppError('BAD_DICOM', `HighBit ${highBit} is inconsistent with BitsStored ${bitsStored} and BitsAllocated ${bitsAllocated}`);
  }
  const pixelRepresentation = num(ds, 'PixelRepresentation') ?? 0;
  return {
    bitsAllocated,
    bitsStored,
    highBit,
    signed: pixelRepresentation === 1,
    monochrome1: photometric === 'MONOCHROME1',
    samplesPerPixel: samples,
    photometric,
    planarConfiguration: samples === 3 && num(ds, 'PlanarConfiguration') === 1 ? 1 : 0,
  };
}

/** dcmjs gives PixelData as an array of ArrayBuffers: one for native data, one per frame or fragment when encapsulated. */
function pixelItems(ds: NaturalDataset): Uint8Array[] {
  const v = ds.PixelData;
  // Tag check instead of instanceof: buffers may come from another realm (vm contexts, test runners).
  const isBuffer = (p: unknown): p is ArrayBuffer => Object.prototype.toString.call(p) === '[object ArrayBuffer]';
  const parts = (Array.isArray(v) ? v : [v]).filter((p): p is ArrayBuffer | ArrayBufferView => isBuffer(p) || ArrayBuffer.isView(p));
  if (parts.length === 0) {
    if (ds.FloatPixelData !== undefined || ds.DoubleFloatPixelData !== undefined) {
      throw unsupported('float pixel data is not supported yet');
    }
    throw new AppError('BAD_DICOM', 'dataset has no PixelData');
  }
  return parts.map((p) => (isBuffer(p) ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength)));
}

function joined(views: Uint8Array[]): Uint8Array {
  if (views.length === 1) return views[0] as Uint8Array;
  const total = views.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of views) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

interface Rescale {
  slope: number;
  intercept: number;
}

function itemsOf(v: unknown): NaturalDataset[] {
  if (Array.isArray(v)) return v.filter((x): x is NaturalDataset => typeof x === 'object' && x !== null);
  if (typeof v === 'object' && v !== null) return [v as NaturalDataset];
  return [];
}

/** Looks up a functional group macro for a frame: per-frame first, then shared (enhanced multi-frame IODs). */
export function functionalGroup(ds: NaturalDataset, frameIndex: number, sequenceKeyword: string): NaturalDataset | undefined {
  const perFrame = itemsOf(ds.PerFrameFunctionalGroupsSequence)[frameIndex];
  const fromPerFrame = perFrame ? itemsOf(perFrame[sequenceKeyword])[0] : undefined;
  if (fromPerFrame) return fromPerFrame;
  const shared = itemsOf(ds.SharedFunctionalGroupsSequence)[0];
  return shared ? itemsOf(shared[sequenceKeyword])[0] : undefined;
}

function rescaleFor(ds: NaturalDataset, frameIndex: number): Rescale {
  const group = functionalGroup(ds, frameIndex, 'PixelValueTransformationSequence');
  const source = group ?? ds;
  return { slope: num(source, 'RescaleSlope') ?? 1, intercept: num(source, 'RescaleIntercept') ?? 0 };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 8- or 16-bit words of one frame as a typed array: a view when aligned and in host order, else a copy. */
function words(bytes: Uint8Array, offset: number, count: number, bitsAllocated: 8 | 16, littleEndian: boolean): Uint8Array | Uint16Array {
  const start = bytes.byteOffset + offset;
  if (bitsAllocated === 8) return new Uint8Array(bytes.buffer, start, count);
  if (littleEndian === HOST_LITTLE_ENDIAN && start % 2 === 0) return new Uint16Array(bytes.buffer, start, count);
  const copy = new Uint16Array(count);
  const view = new DataView(bytes.buffer, start, count * 2);
  for (let p = 0; p < count; p++) copy[p] = view.getUint16(p * 2, littleEndian);
  return copy;
}

/** value → (invert − value, when invert is set) × scale + offset: MONOCHROME1 inversion and modality rescale. */
interface Affine {
  invert?: number;
  scale: number;
  offset: number;
}

const IDENTITY: Affine = { scale: 1, offset: 0 };

/**
 * Reads stored values of one frame as integers, masked to BitsStored and sign-extended, then mapped by `affine`,
 * into `out` (a Float64Array by default).
 */
function storedValues<T extends Float32Array | Float64Array>(
  bytes: Uint8Array,
  offset: number,
  count: number,
  format: PixelFormat,
  littleEndian: boolean,
  affine: Affine = IDENTITY,
  out: T = new Float64Array(count) as T,
): T {
  const { scale, offset: add } = affine;
  const invert = affine.invert;
  const { bitsAllocated, bitsStored, highBit, signed } = format;
  const shift = highBit + 1 - bitsStored;
  const range = 2 ** bitsStored;
  const half = range / 2;
  if (bitsAllocated !== 32) {
    // Up to 16 bits: integer bit operations are exact and much faster than per-sample DataView reads.
    const raw = words(bytes, offset, count, bitsAllocated, littleEndian);
    const mask = range - 1;
    for (let p = 0; p < count; p++) {
      const v = ((raw[p] as number) >> shift) & mask;
      const value = signed && v >= half ? v - range : v;
      out[p] = (invert === undefined ? value : invert - value) * scale + add;
    }
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  const fullWidth = bitsStored === 32 && shift === 0;
  for (let p = 0; p < count; p++) {
    const raw = view.getUint32(p * 4, littleEndian);
    // Arithmetic instead of bit operators so that 32-bit values stay unsigned.
    let v = fullWidth ? raw : Math.floor(raw / 2 ** shift) % range;
    if (signed && v >= half) v -= range;
    out[p] = (invert === undefined ? v : invert - v) * scale + add;
  }
  return out;
}

/** Stored samples per frame as laid out natively: YBR_FULL_422 keeps two samples per pixel (Y1 Y2 Cb Cr per pair). */
function nativeSamplesPerFrame(rows: number, columns: number, format: PixelFormat): number {
  if (format.photometric === 'YBR_FULL_422') return rows * Math.ceil(columns / 2) * 4;
  return rows * columns * format.samplesPerPixel;
}

interface FrameSource {
  bytes: Uint8Array;
  offset: number;
  littleEndian: boolean;
  /** Layout of the samples in bytes (after decompression, codecs may have changed it). */
  photometric: string;
  planarConfiguration: 0 | 1;
}

/** Native data: every frame is a slice of one byte run, checked against the size the header promises. */
function nativeFrames(parsed: ParsedPart10, rows: number, columns: number, frameCount: number, format: PixelFormat): FrameSource[] {
  const bytes = joined(pixelItems(parsed.dataset));
  const frameBytes = nativeSamplesPerFrame(rows, columns, format) * (format.bitsAllocated / 8);
  const expected = frameBytes * frameCount;
  // Trailing padding shorter than a frame is tolerated (some writers pad); anything else means the header lies.
  if (bytes.byteLength < expected || bytes.byteLength >= expected + frameBytes) {
    throw new AppError(
      'BAD_DICOM',
      `pixel data length ${bytes.byteLength} does not match ${rows}×${columns}×${frameCount} frames × ${frameBytes / (rows * columns)} bytes = ${expected}`,
    );
  }
  const littleEndian = parsed.transferSyntaxUid !== '1.2.840.10008.1.2.2';
  return Array.from({ length: frameCount }, (_, f) => ({ bytes, offset: f * frameBytes, littleEndian, photometric: format.photometric, planarConfiguration: format.planarConfiguration }));
}

/** Encapsulated data: split into frames, then each frame decompressed by its codec to little-endian stored values. */
function* compressedFrames(parsed: ParsedPart10, rows: number, columns: number, frameCount: number, format: PixelFormat): Generator<FrameSource> {
  const ts = parsed.transferSyntaxUid;
  const family = CODEC_FAMILY[ts] as string;
  const encoded = framesFromItems(pixelItems(parsed.dataset), frameCount, family);
  const layout: FrameLayout = {
    rows,
    columns,
    bitsAllocated: format.bitsAllocated,
    bitsStored: format.bitsStored,
    samplesPerPixel: format.samplesPerPixel,
    signed: format.signed,
    planarConfiguration: format.planarConfiguration,
    photometric: format.photometric,
  };
  for (const frame of encoded) {
    const decoded = decodeFrame(ts, frame, layout);
    yield { bytes: decoded.bytes, offset: 0, littleEndian: true, photometric: decoded.photometric, planarConfiguration: decoded.planarConfiguration };
  }
}

/** Stored colour samples of one frame → interleaved RGB (PlanarConfiguration, YBR_FULL_422 and YBR_FULL handled). */
function rgbOf(stored: Float64Array, source: FrameSource, rows: number, columns: number, format: PixelFormat): Float32Array {
  const pixels = rows * columns;
  let values = stored;
  let photometric = source.photometric;
  if (photometric === 'YBR_FULL_422' && values.length !== pixels * 3) {
    values = expandYbr422(values, rows, columns);
    photometric = 'YBR_FULL';
  } else if (source.planarConfiguration === 1) {
    values = planarToInterleaved(values, pixels, 3);
  }
  if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') ybrFullToRgb(values, format.bitsStored);
  else if (photometric !== 'RGB') throw unsupported(`decoded colour data in ${photometric} cannot be converted to RGB`);
  return Float32Array.from(values);
}

/**
 * Decodes every frame of an image into modality values, for native and compressed transfer syntaxes.
 * Grayscale: MONOCHROME1 images are inverted into MONOCHROME2 sense (higher value = brighter) over the stored-value
 * range before rescaling, so downstream code can treat all grayscale images alike.
 * Colour: `rgb` holds interleaved RGB per frame and `frames` their ITU-R BT.601 luminance, so grayscale callers work
 * unchanged. Compressed syntaxes need `await loadPixelCodecs()` once beforehand.
 */
export function decodeFrames(parsed: ParsedPart10, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodedFrames {
  const ts = parsed.transferSyntaxUid;
  const native = ts in NATIVE_TRANSFER_SYNTAXES;
  if (!native && !(ts in CODEC_FAMILY)) {
    throw unsupported(`transfer syntax ${ts} (${transferSyntaxName(ts)}) is not supported`);
  }
  const ds = parsed.dataset;
  const format = readPixelFormat(ds);
  const rows = requiredInt(ds, 'Rows');
  const columns = requiredInt(ds, 'Columns');
  const frameCount = num(ds, 'NumberOfFrames') ?? 1;
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new AppError('BAD_DICOM', `NumberOfFrames ${frameCount} is not a positive integer`);
  if (rows === 0 || columns === 0) throw new AppError('BAD_DICOM', `image has ${rows} rows and ${columns} columns`);
  const voxels = rows * columns * frameCount;
  // Colour counts three samples per voxel: that is what gets allocated.
  if (voxels * format.samplesPerPixel > limits.maxVoxels) {
    throw new AppError('TOO_LARGE', `image of ${rows}×${columns}×${frameCount} voxels × ${format.samplesPerPixel} samples exceeds the limit of ${limits.maxVoxels}`);
  }
  const sources = native ? nativeFrames(parsed, rows, columns, frameCount, format) : compressedFrames(parsed, rows, columns, frameCount, format);
  const pixels = rows * columns;
  const all = new Float32Array(voxels);
  const frames: Float32Array[] = [];
  const rgb: Float32Array[] = [];
  const invertSum = format.signed ? -1 : 2 ** format.bitsStored - 1;
  let f = 0;
  for (const source of sources) {
    const sampleCount = source.photometric === 'YBR_FULL_422' && native ? nativeSamplesPerFrame(rows, columns, format) : pixels * format.samplesPerPixel;
    const frame = all.subarray(f * pixels, (f + 1) * pixels);
    if (format.samplesPerPixel === 3) {
      const colour = rgbOf(storedValues(source.bytes, source.offset, sampleCount, format, source.littleEndian), source, rows, columns, format);
      rgb.push(colour);
      frame.set(toLuminance(colour));
    } else {
      const { slope, intercept } = rescaleFor(ds, f);
      const affine: Affine = format.monochrome1 ? { invert: invertSum, scale: slope, offset: intercept } : { scale: slope, offset: intercept };
      storedValues(source.bytes, source.offset, pixels, format, source.littleEndian, affine, frame);
    }
    frames.push(frame);
    f++;
  }
  return format.samplesPerPixel === 3 ? { rows, columns, frames, samplesPerPixel: 3, rgb } : { rows, columns, frames, samplesPerPixel: 1 };
}
