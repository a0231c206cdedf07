import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { num } from './part10';

/**
 * Size checks on an image header before any pixel buffer is allocated: a header may claim 65535 × 65535 × 65535
 * voxels in a 1 KB file. Everything is computed in doubles (exact up to 2^53, far beyond any product here).
 */

export interface PixelSizeLimits {
  /** limits.maxVoxels: rows × columns × frames × samples that may be decoded. */
  maxVoxels: number;
  /** limits.maxInstanceBytes: decoded pixel bytes of one instance may not exceed it either. */
  maxInstanceBytes: number;
}

const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);

function pixelDataBytes(v: unknown): number | undefined {
  const parts = Array.isArray(v) ? v : [v];
  let total = 0;
  let any = false;
  for (const p of parts) {
    if (Object.prototype.toString.call(p) === '[object ArrayBuffer]') total += (p as ArrayBuffer).byteLength;
    else if (ArrayBuffer.isView(p)) total += p.byteLength;
    else continue;
    any = true;
  }
  return any ? total : undefined;
}

/**
 * Throws TOO_LARGE when the image the header describes exceeds the limits, BAD_DICOM when native pixel data is
 * shorter than the header promises. Datasets without Pixel Data (SR, SEG headers, presentation states) pass.
 */
export function checkPixelSize(dataset: NaturalDataset, transferSyntaxUid: string, limits: PixelSizeLimits): void {
  const present = pixelDataBytes(dataset.PixelData);
  if (present === undefined) return;
  const rows = num(dataset, 'Rows') ?? 0;
  const columns = num(dataset, 'Columns') ?? 0;
  const frames = num(dataset, 'NumberOfFrames') ?? 1;
  const samples = num(dataset, 'SamplesPerPixel') ?? 1;
  const bitsAllocated = num(dataset, 'BitsAllocated') ?? 0;
  for (const [name, v] of [['Rows', rows], ['Columns', columns], ['NumberOfFrames', frames], ['SamplesPerPixel', samples], ['BitsAllocated', bitsAllocated]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new AppError('BAD_DICOM', `${name} is not a non-negative integer`);
  }
  const voxels = rows * columns * frames * samples;
  if (voxels > limits.maxVoxels) {
    throw new AppError('TOO_LARGE', `image header declares ${rows}×${columns}×${frames} voxels × ${samples} samples, over limits.maxVoxels (${limits.maxVoxels})`);
  }
  const decodedBytes = (voxels * bitsAllocated) / 8;
  if (decodedBytes > limits.maxInstanceBytes) {
    throw new AppError('TOO_LARGE', `image header declares ${decodedBytes} bytes of pixels, over limits.maxInstanceBytes (${limits.maxInstanceBytes})`);
  }
  // Native data must be all there (YBR_FULL_422 keeps 2 samples per pixel, so allow for that); compressed sizes
  // are only known after decoding, which the codecs bound by the same header.
  if (NATIVE.has(transferSyntaxUid) && bitsAllocated >= 8) {
    const ybr422 = String(dataset.PhotometricInterpretation ?? '').trim() === 'YBR_FULL_422';
    const needed = ybr422 ? (rows * Math.ceil(columns / 2) * 4 * frames * bitsAllocated) / 8 : decodedBytes;
    if (present < needed) throw new AppError('BAD_DICOM', `pixel data holds ${present} bytes but the header declares ${needed}`);
  }
}
