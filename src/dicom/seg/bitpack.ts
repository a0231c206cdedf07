/**
 * 1-bit packing for BINARY segmentation frames (PS3.5 8.1.1 with BitsAllocated 1): pixels are packed back to back
 * across frame boundaries (frame f starts at bit f * rows * columns), the first pixel in the least significant bit of
 * each byte; only the whole Pixel Data value is padded to an even length.
 *
 * Frames are packed straight from the label map, one segment value per frame, so no unpacked copy of the frames is
 * ever built. The inner loop makes one byte from 8 voxels without calls or branches per pixel.
 */

/** A frame to pack: the voxels of one label-map slice that equal `value` become 1. */
export interface FrameSelector {
  /** Index of the first voxel of the slice in the label map data. */
  offset: number;
  /** Label value that marks the segment in the label map. */
  value: number;
}

/** Bytes needed for `frames` frames of `pixelsPerFrame` pixels, padded to even length as Pixel Data must be. */
export function packedByteLength(frames: number, pixelsPerFrame: number): number {
  const bytes = Math.ceil((frames * pixelsPerFrame) / 8);
  return bytes + (bytes & 1);
}

/** How to read the label map: 32-bit words (4 voxels per read) or single bytes (any alignment, any endianness). */
export type PackStrategy = 'auto' | 'bytes';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Packs the selected slices of a label map into one Pixel Data value.
 * `pixelsPerFrame` is rows * columns; every selector must address a full slice inside `labels`.
 */
export function packFrames(
  labels: Uint8Array,
  pixelsPerFrame: number,
  frames: readonly FrameSelector[],
  strategy: PackStrategy = 'auto',
): Uint8Array {
  const out = new Uint8Array(packedByteLength(frames.length, pixelsPerFrame));
  const words =
    strategy === 'auto' && LITTLE_ENDIAN && labels.byteOffset % 4 === 0
      ? new Uint32Array(labels.buffer, labels.byteOffset, labels.byteLength >>> 2)
      : undefined;
  let bitPos = 0;
  for (const frame of frames) {
    if (words) packFrameWords(labels, words, frame.offset, pixelsPerFrame, frame.value, out, bitPos);
    else packFrameBytes(labels, frame.offset, pixelsPerFrame, frame.value, out, bitPos);
    bitPos += pixelsPerFrame;
  }
  return out;
}

/**
 * ORs the bits of one frame into `out` from bit `bitPos` on, reading 4 voxels per 32-bit word (SWAR): a byte of the
 * word XOR (value in every byte) is zero exactly where the voxel equals `value`; the zero-byte test sets bit 7 of
 * such bytes, and one multiply gathers those 4 bits. `out` must be zero from `bitPos` on.
 */
function packFrameWords(
  labels: Uint8Array,
  words: Uint32Array,
  offset: number,
  count: number,
  value: number,
  out: Uint8Array,
  bitPos: number,
): void {
  let i = offset;
  const end = offset + count;
  let bit = bitPos;
  // Voxel by voxel until the source is word aligned (slices of odd sizes start anywhere).
  for (; i < end && (i & 3) !== 0; i++, bit++) if (labels[i] === value) out[bit >>> 3]! |= 1 << (bit & 7);
  const groups = (end - i) >>> 3;
  const pattern = Math.imul(value, 0x01010101);
  const shift = bit & 7;
  let w = i >>> 2;
  let o = bit >>> 3;
  if (shift === 0) {
    for (let g = 0; g < groups; g++, w += 2) {
      const x0 = words[w]! ^ pattern;
      const x1 = words[w + 1]! ^ pattern;
      const z0 = ~(((x0 & 0x7f7f7f7f) + 0x7f7f7f7f) | x0 | 0x7f7f7f7f);
      const z1 = ~(((x1 & 0x7f7f7f7f) + 0x7f7f7f7f) | x1 | 0x7f7f7f7f);
      out[o++] =
        ((Math.imul(z0 >>> 7, 0x01020408) >>> 24) & 15) | (((Math.imul(z1 >>> 7, 0x01020408) >>> 24) & 15) << 4);
    }
  } else {
    // The frame starts inside a byte: each group of 8 bits straddles two output bytes.
    const back = 8 - shift;
    for (let g = 0; g < groups; g++, w += 2) {
      const x0 = words[w]! ^ pattern;
      const x1 = words[w + 1]! ^ pattern;
      const z0 = ~(((x0 & 0x7f7f7f7f) + 0x7f7f7f7f) | x0 | 0x7f7f7f7f);
      const z1 = ~(((x1 & 0x7f7f7f7f) + 0x7f7f7f7f) | x1 | 0x7f7f7f7f);
      const b =
        ((Math.imul(z0 >>> 7, 0x01020408) >>> 24) & 15) | (((Math.imul(z1 >>> 7, 0x01020408) >>> 24) & 15) << 4);
      out[o]! |= b << shift;
      out[++o] = b >>> back;
    }
  }
  i += groups * 8;
  bit += groups * 8;
  for (; i < end; i++, bit++) if (labels[i] === value) out[bit >>> 3]! |= 1 << (bit & 7);
}

/** Byte-wise twin of packFrameWords for unaligned or big-endian label maps: 8 voxels per output byte. */
function packFrameBytes(
  labels: Uint8Array,
  offset: number,
  count: number,
  value: number,
  out: Uint8Array,
  bitPos: number,
): void {
  let i = offset;
  const end = offset + count;
  let bit = bitPos;
  // Finish the byte the previous frame started, so that the main loop writes whole bytes.
  for (; i < end && (bit & 7) !== 0; i++, bit++) if (labels[i] === value) out[bit >>> 3]! |= 1 << (bit & 7);
  let o = bit >>> 3;
  const end8 = i + ((end - i) & ~7);
  for (; i < end8; i += 8) {
    out[o++] =
      (labels[i] === value ? 1 : 0) |
      ((labels[i + 1] === value ? 1 : 0) << 1) |
      ((labels[i + 2] === value ? 1 : 0) << 2) |
      ((labels[i + 3] === value ? 1 : 0) << 3) |
      ((labels[i + 4] === value ? 1 : 0) << 4) |
      ((labels[i + 5] === value ? 1 : 0) << 5) |
      ((labels[i + 6] === value ? 1 : 0) << 6) |
      ((labels[i + 7] === value ? 1 : 0) << 7);
  }
  bit = o * 8;
  for (; i < end; i++, bit++) if (labels[i] === value) out[bit >>> 3]! |= 1 << (bit & 7);
}

/**
 * Unpacks frame `frame` of packed 1-bit Pixel Data: calls `onPixel(p)` for each set pixel p (0-based in the frame).
 * Used on the reading side, where clarity matters more than speed.
 */
export function forEachSetPixel(
  packed: Uint8Array,
  frame: number,
  pixelsPerFrame: number,
  onPixel: (pixel: number) => void,
): void {
  const start = frame * pixelsPerFrame;
  for (let p = 0; p < pixelsPerFrame; p++) {
    const bit = start + p;
    if (((packed[bit >>> 3] ?? 0) >>> (bit & 7)) & 1) onPixel(p);
  }
}

/**
 * Packs every BINARY frame of a label map in one pass over it: each voxel is read once and sets a bit in the frame
 * of its (slice, label), instead of each frame re-reading its slice once per segment. `frameOf[k * 256 + v]` is
 * the frame index of label v on slice k, or -1 where that pair has no frame; frame f starts at bit
 * f * pixelsPerFrame of `out`, which must be zero. Where slices are whole bytes and the label map is word aligned,
 * 8 voxels are read as two 32-bit words: background groups are skipped and groups of one label write a whole
 * byte, so only the voxels on a boundary cost a step each. Voxels of a pair without a frame are written to a
 * scratch frame at byte `strayAt` (out must hold pixelsPerFrame / 8 bytes there) and make the result false, so
 * the caller learns of labels it did not expect without a test per voxel; true when there were none.
 */
export function packLabelMap(
  labels: Uint8Array,
  pixelsPerFrame: number,
  slices: number,
  frameOf: Int32Array,
  out: Uint8Array,
  strayAt: number,
): boolean {
  const aligned = LITTLE_ENDIAN && labels.byteOffset % 4 === 0 && pixelsPerFrame % 8 === 0;
  if (!aligned) return packLabelMapBytes(labels, pixelsPerFrame, slices, frameOf, out);
  // Signed words: every value stays a small integer for the JIT; only equality and byte extraction are used.
  const words = new Int32Array(labels.buffer, labels.byteOffset, labels.byteLength >>> 2);
  const bytesPerFrame = pixelsPerFrame >>> 3;
  const start = new Int32Array(256);
  for (let k = 0; k < slices; k++) {
    // Byte offset of each label's frame on this slice (the scratch frame for labels without one).
    for (let v = 1; v < 256; v++) {
      const f = frameOf[k * 256 + v]!;
      start[v] = f < 0 ? strayAt : f * bytesPerFrame;
    }
    let w = (k * pixelsPerFrame) >>> 2;
    // Regions are mostly runs of one label: a group equal to the last whole-label group repeats its byte.
    let runWord = 0;
    let runStart = 0;
    for (let g = 0; g < bytesPerFrame; g++, w += 2) {
      const w0 = words[w]!;
      const w1 = words[w + 1]!;
      if (w0 === runWord && w1 === runWord) {
        if (runWord !== 0) out[runStart + g] = 0xff;
        continue;
      }
      // One label in all 8 voxels: its 4 bytes equal each other and both words are equal.
      if (w0 === w1 && ((w0 ^ (w0 >>> 8)) & 0xffffff) === 0) {
        runWord = w0;
        runStart = start[w0 & 255]!;
        if (w0 !== 0) out[runStart + g] = 0xff;
        continue;
      }
      let v = w0 & 255;
      if (v !== 0) out[start[v]! + g]! |= 1;
      v = (w0 >>> 8) & 255;
      if (v !== 0) out[start[v]! + g]! |= 2;
      v = (w0 >>> 16) & 255;
      if (v !== 0) out[start[v]! + g]! |= 4;
      v = w0 >>> 24;
      if (v !== 0) out[start[v]! + g]! |= 8;
      v = w1 & 255;
      if (v !== 0) out[start[v]! + g]! |= 16;
      v = (w1 >>> 8) & 255;
      if (v !== 0) out[start[v]! + g]! |= 32;
      v = (w1 >>> 16) & 255;
      if (v !== 0) out[start[v]! + g]! |= 64;
      v = w1 >>> 24;
      if (v !== 0) out[start[v]! + g]! |= 128;
    }
  }
  for (let i = strayAt, end = strayAt + bytesPerFrame; i < end; i++) if (out[i] !== 0) return false;
  return true;
}

/** Voxel-by-voxel twin of packLabelMap for frames that do not start on a byte (odd sizes) or unaligned maps. */
function packLabelMapBytes(labels: Uint8Array, pixelsPerFrame: number, slices: number, frameOf: Int32Array, out: Uint8Array): boolean {
  let complete = true;
  for (let k = 0; k < slices; k++) {
    const base = k * pixelsPerFrame;
    for (let p = 0; p < pixelsPerFrame; p++) {
      const v = labels[base + p]!;
      if (v === 0) continue;
      const f = frameOf[k * 256 + v]!;
      if (f < 0) {
        complete = false;
        continue;
      }
      const bit = f * pixelsPerFrame + p;
      out[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return complete;
}
