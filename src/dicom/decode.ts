import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { num, str, type ParsedPart10 } from './part10';

/**
 * Pixel decoding for the uncompressed (native) transfer syntaxes. Output values are modality values: stored values
 * masked to BitsStored, sign-extended when signed, then RescaleSlope/RescaleIntercept applied. Compressed transfer
 * syntaxes are refused with UNSUPPORTED_TRANSFER_SYNTAX until codecs are added.
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
  /** One array of rows × columns modality values per frame, row by row. */
  frames: Float32Array[];
}

interface PixelFormat {
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  monochrome1: boolean;
}

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
  if (samples !== 1) throw unsupported(`SamplesPerPixel ${samples} is not supported; only single-sample (grayscale) images`);
  const photometric = (str(ds, 'PhotometricInterpretation') ?? 'MONOCHROME2').trim();
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    throw unsupported(`PhotometricInterpretation ${photometric} is not supported; only MONOCHROME1/MONOCHROME2`);
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
  return { bitsAllocated, bitsStored, highBit, signed: pixelRepresentation === 1, monochrome1: photometric === 'MONOCHROME1' };
}

/** dcmjs gives PixelData as an array of ArrayBuffers (one for native data); join them into one view. */
function pixelBytes(ds: NaturalDataset): Uint8Array {
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
  const views = parts.map((p) => (isBuffer(p) ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength)));
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

/** Reads stored values of one frame as integers, masked to BitsStored and sign-extended. */
function storedValues(bytes: Uint8Array, offset: number, count: number, format: PixelFormat, littleEndian: boolean): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * (format.bitsAllocated / 8));
  const out = new Float64Array(count);
  const { bitsAllocated, bitsStored, highBit, signed } = format;
  const shift = highBit + 1 - bitsStored;
  const fullWidth = bitsStored === bitsAllocated && shift === 0;
  const range = 2 ** bitsStored;
  const half = range / 2;
  for (let p = 0; p < count; p++) {
    let raw: number;
    if (bitsAllocated === 8) raw = view.getUint8(p);
    else if (bitsAllocated === 16) raw = view.getUint16(p * 2, littleEndian);
    else raw = view.getUint32(p * 4, littleEndian);
    // Arithmetic instead of bit operators so that 32-bit values stay unsigned.
    let v = fullWidth ? raw : Math.floor(raw / 2 ** shift) % range;
    if (signed && v >= half) v -= range;
    out[p] = v;
  }
  return out;
}

/**
 * Decodes every frame of a native (uncompressed) grayscale image into modality values.
 * MONOCHROME1 images are inverted into MONOCHROME2 sense (higher value = brighter) over the stored-value range
 * before rescaling, so downstream code can treat all grayscale images alike.
 */
export function decodeFrames(parsed: ParsedPart10, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodedFrames {
  const ts = parsed.transferSyntaxUid;
  if (!(ts in NATIVE_TRANSFER_SYNTAXES)) {
    throw unsupported(`transfer syntax ${ts} (${transferSyntaxName(ts)}) is not supported yet`);
  }
  const ds = parsed.dataset;
  const format = readPixelFormat(ds);
  const rows = requiredInt(ds, 'Rows');
  const columns = requiredInt(ds, 'Columns');
  const frameCount = num(ds, 'NumberOfFrames') ?? 1;
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new AppError('BAD_DICOM', `NumberOfFrames ${frameCount} is not a positive integer`);
  if (rows === 0 || columns === 0) throw new AppError('BAD_DICOM', `image has ${rows} rows and ${columns} columns`);
  const voxels = rows * columns * frameCount;
  if (voxels > limits.maxVoxels) {
    throw new AppError('TOO_LARGE', `image of ${rows}×${columns}×${frameCount} voxels exceeds the limit of ${limits.maxVoxels}`);
  }
  const bytes = pixelBytes(ds);
  const frameBytes = rows * columns * (format.bitsAllocated / 8);
  const expected = frameBytes * frameCount;
  // Trailing padding shorter than a frame is tolerated (some writers pad); anything else means the header lies.
  if (bytes.byteLength < expected || bytes.byteLength >= expected + frameBytes) {
    throw new AppError(
      'BAD_DICOM',
      `pixel data length ${bytes.byteLength} does not match ${rows}×${columns}×${frameCount} frames × ${format.bitsAllocated / 8} bytes = ${expected}`,
    );
  }
  const littleEndian = ts !== '1.2.840.10008.1.2.2';
  const pixels = rows * columns;
  const all = new Float32Array(voxels);
  const frames: Float32Array[] = [];
  const invertSum = format.signed ? -1 : 2 ** format.bitsStored - 1;
  for (let f = 0; f < frameCount; f++) {
    const stored = storedValues(bytes, f * frameBytes, pixels, format, littleEndian);
    const { slope, intercept } = rescaleFor(ds, f);
    const frame = all.subarray(f * pixels, (f + 1) * pixels);
    for (let p = 0; p < pixels; p++) {
      const s = stored[p] as number;
      frame[p] = (format.monochrome1 ? invertSum - s : s) * slope + intercept;
    }
    frames.push(frame);
  }
  return { rows, columns, frames };
}
