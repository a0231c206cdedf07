import { AppError } from '../../domain/errors';

/**
 * Encapsulated pixel data → one byte array per frame.
 *
 * dcmjs 0.51 already resolves the Basic Offset Table: with a table it hands back one ArrayBuffer per frame (the
 * fragments of a frame joined); without one it hands back one ArrayBuffer per fragment. So what is left here is the
 * no-table case: one fragment per frame, all fragments of a single frame, or several fragments per frame, where a
 * new frame is recognised by its codestream start marker (JPEG/JPEG-LS SOI FFD8, JPEG 2000 SOC FF4F).
 */

function startsFrame(fragment: Uint8Array, family: string): boolean {
  if (family === 'jpeg' || family === 'jpeg-ls') return fragment[0] === 0xff && fragment[1] === 0xd8;
  if (family === 'jpeg2000' || family === 'htj2k') {
    // A raw codestream (SOC FF4F) or, from some writers, a JP2 file box (00 00 00 0C 6A 50).
    return (fragment[0] === 0xff && fragment[1] === 0x4f) || (fragment[4] === 0x6a && fragment[5] === 0x50);
  }
  // RLE: the standard puts each frame in exactly one fragment.
  return true;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Groups the items dcmjs returned into exactly frameCount frames, or throws BAD_DICOM saying why it cannot. */
export function framesFromItems(items: readonly Uint8Array[], frameCount: number, family: string): Uint8Array[] {
  if (items.length === 0) throw new AppError('BAD_DICOM', 'encapsulated pixel data has no fragments');
  if (items.length === frameCount) return [...items];
  if (frameCount === 1) return [concat(items)];
  if (items.length < frameCount) {
    throw new AppError('BAD_DICOM', `encapsulated pixel data has ${items.length} fragment(s) for ${frameCount} frames`);
  }
  const frames: Uint8Array[][] = [];
  for (const item of items) {
    const current = frames[frames.length - 1];
    if (current === undefined || startsFrame(item, family)) frames.push([item]);
    else current.push(item);
  }
  if (frames.length !== frameCount) {
    throw new AppError('BAD_DICOM', `encapsulated pixel data: ${items.length} fragments without an offset table form ${frames.length} frames, but NumberOfFrames is ${frameCount}`);
  }
  return frames.map(concat);
}
