/**
 * Reading side of BINARY SEG, for tests and round trips: puts each frame back on the source grid. Tolerant on read
 * (groups may be shared or per frame; frames are placed by their source reference, else by position), strict on
 * what it cannot place.
 */
import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../../domain/errors';
import type { SliceSource } from '../../domain/volume';
import { num, nums, str } from '../part10';
import { forEachSetPixel } from './bitpack';
import { SEGMENTATION_STORAGE_SOP_CLASS_UID } from './enums';

export interface SegGrid {
  rows: number;
  columns: number;
  /** The source slices in label-map order. */
  slices: SliceSource[];
}

export interface DecodedSegmentation {
  /** One value per voxel of the grid: the segment number, 0 where no segment (the last frame wins on overlap). */
  labelMap: Uint8Array;
  /** Segment numbers declared in the Segment Sequence, in order. */
  segmentNumbers: number[];
}

/** Frames closer than this to a slice position are on that slice (mm). */
const POSITION_TOLERANCE_MM = 1e-3;

function badSeg(reason: string): AppError {
  return new AppError('BAD_DICOM', `cannot decode segmentation: ${reason}`);
}

/** Items of a sequence as dcmjs naturalizes it (an array; a lone object is accepted too). */
function items(ds: NaturalDataset | undefined, keyword: string): NaturalDataset[] {
  const v = ds?.[keyword];
  if (Array.isArray(v)) return v as NaturalDataset[];
  if (v && typeof v === 'object') return [v as NaturalDataset];
  return [];
}

function pixelBytes(value: unknown): Uint8Array {
  const first = Array.isArray(value) ? value[0] : value;
  if (first instanceof ArrayBuffer) return new Uint8Array(first);
  if (ArrayBuffer.isView(first)) return new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  throw badSeg('no Pixel Data');
}

/** A frame's functional group: per frame if present there, else shared. */
function group(perFrame: NaturalDataset | undefined, shared: NaturalDataset | undefined, keyword: string): NaturalDataset | undefined {
  return items(perFrame, keyword)[0] ?? items(shared, keyword)[0];
}

function sliceOfFrame(
  frame: number,
  perFrame: NaturalDataset | undefined,
  shared: NaturalDataset | undefined,
  grid: SegGrid,
  bySource: Map<string, number>,
): number {
  const derivation = group(perFrame, shared, 'DerivationImageSequence');
  for (const ref of items(derivation, 'SourceImageSequence')) {
    const uid = str(ref, 'ReferencedSOPInstanceUID');
    const frameNumber = num(ref, 'ReferencedFrameNumber');
    const k = uid === undefined ? undefined : bySource.get(`${uid}#${frameNumber ?? ''}`);
    if (k !== undefined) return k;
  }
  const position = nums(group(perFrame, shared, 'PlanePositionSequence') ?? {}, 'ImagePositionPatient', 3);
  if (position) {
    const k = grid.slices.findIndex((s) =>
      s.imagePositionPatient.every((v, axis) => Math.abs(v - position[axis]!) <= POSITION_TOLERANCE_MM),
    );
    if (k >= 0) return k;
  }
  throw badSeg(`frame ${frame + 1} references no slice of the grid`);
}

export function decodeSegmentation(seg: NaturalDataset, grid: SegGrid): DecodedSegmentation {
  if (str(seg, 'SOPClassUID') !== SEGMENTATION_STORAGE_SOP_CLASS_UID) throw badSeg('not a Segmentation Storage instance');
  if (str(seg, 'SegmentationType') !== 'BINARY') throw badSeg('only BINARY segmentations are decoded');
  if (num(seg, 'BitsAllocated') !== 1) throw badSeg('BitsAllocated is not 1');
  if (num(seg, 'Rows') !== grid.rows || num(seg, 'Columns') !== grid.columns) throw badSeg('Rows/Columns differ from the grid');
  const frames = num(seg, 'NumberOfFrames') ?? 1;
  const pixelsPerFrame = grid.rows * grid.columns;
  const packed = pixelBytes(seg.PixelData);
  if (packed.length < Math.ceil((frames * pixelsPerFrame) / 8)) throw badSeg('Pixel Data is shorter than NumberOfFrames frames');

  const segmentNumbers = items(seg, 'SegmentSequence').map((s) => num(s, 'SegmentNumber') ?? 0);
  const bySource = new Map<string, number>();
  grid.slices.forEach((s, k) => bySource.set(`${s.sopInstanceUid}#${s.frameNumber ?? ''}`, k));
  const shared = items(seg, 'SharedFunctionalGroupsSequence')[0];
  const perFrameItems = items(seg, 'PerFrameFunctionalGroupsSequence');

  const labelMap = new Uint8Array(pixelsPerFrame * grid.slices.length);
  for (let f = 0; f < frames; f++) {
    const perFrame = perFrameItems[f];
    const segmentNumber = num(group(perFrame, shared, 'SegmentIdentificationSequence') ?? {}, 'ReferencedSegmentNumber');
    if (segmentNumber === undefined || !segmentNumbers.includes(segmentNumber) || segmentNumber > 255) {
      throw badSeg(`frame ${f + 1} has no valid ReferencedSegmentNumber`);
    }
    const base = sliceOfFrame(f, perFrame, shared, grid, bySource) * pixelsPerFrame;
    forEachSetPixel(packed, f, pixelsPerFrame, (p) => {
      labelMap[base + p] = segmentNumber;
    });
  }
  return { labelMap, segmentNumbers };
}
