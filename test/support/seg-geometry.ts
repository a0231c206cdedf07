import type { NaturalDataset } from 'dcmjs';
import { nums, str } from '../../src/dicom/part10';

export interface SegFrameRef {
  frame: number;
  segmentNumber: number;
  referencedSopInstanceUid: string;
  imagePositionPatient: number[];
}

function first(v: unknown): NaturalDataset {
  const item = Array.isArray(v) ? v[0] : v;
  if (!item || typeof item !== 'object') throw new Error('expected a sequence item');
  return item as NaturalDataset;
}

/** Reads, per SEG frame, the source instance it references and the position it claims (independent of our encoder). */
export function segFrameRefs(seg: NaturalDataset): SegFrameRef[] {
  const perFrame = seg.PerFrameFunctionalGroupsSequence;
  const items = (Array.isArray(perFrame) ? perFrame : [perFrame]) as NaturalDataset[];
  return items.map((f, frame) => {
    const derivation = first(f.DerivationImageSequence);
    const source = first(derivation.SourceImageSequence);
    const position = first(f.PlanePositionSequence);
    // LABELMAP SEGs have no per-frame segment: their frames hold segment numbers (0 here).
    const segmentNumber = f.SegmentIdentificationSequence === undefined ? 0 : Number(first(f.SegmentIdentificationSequence).ReferencedSegmentNumber);
    return {
      frame,
      segmentNumber,
      referencedSopInstanceUid: str(source, 'ReferencedSOPInstanceUID') ?? '',
      imagePositionPatient: nums(position, 'ImagePositionPatient', 3) ?? [],
    };
  });
}

/** Unpacks frame f of a BINARY SEG (frames packed back to back, LSB first) into 0/1 bytes. */
export function unpackSegFrame(pixelData: Uint8Array, frame: number, rows: number, columns: number): Uint8Array {
  const n = rows * columns;
  const out = new Uint8Array(n);
  const startBit = frame * n;
  for (let p = 0; p < n; p++) {
    const bit = startBit + p;
    out[p] = ((pixelData[bit >> 3] as number) >> (bit & 7)) & 1;
  }
  return out;
}

export function segPixelBytes(seg: NaturalDataset): Uint8Array {
  const pd = seg.PixelData;
  const buf = Array.isArray(pd) ? pd[0] : pd;
  if (!buf) throw new Error('SEG has no PixelData');
  return new Uint8Array(buf as ArrayBuffer);
}
