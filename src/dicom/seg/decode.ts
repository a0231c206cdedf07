/**
 * Reading side of SEG (BINARY, LABELMAP, FRACTIONAL), for tests and round trips: puts each frame back on the source grid. Tolerant on read
 * (groups may be shared or per frame; frames are placed by their source reference, else by position), strict on
 * what it cannot place.
 */
import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../../domain/errors';
import type { SliceSource } from '../../domain/volume';
import { num, nums, str } from '../part10';
import { forEachSetPixel } from './bitpack';
import { LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID, SEGMENTATION_STORAGE_SOP_CLASS_UID } from './enums';

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

/** The checks and frame placement every segmentation type shares. */
interface FrameLayout {
  frames: number;
  pixelsPerFrame: number;
  pixels: Uint8Array;
  segmentNumbers: number[];
  /** Slice index of frame f. */
  sliceOf(f: number): number;
  /** ReferencedSegmentNumber of frame f (BINARY and FRACTIONAL). */
  segmentOf(f: number): number;
}

function layout(seg: NaturalDataset, grid: SegGrid, type: string, bitsAllocated: number): FrameLayout {
  const expectedClass = type === 'LABELMAP' ? LABEL_MAP_SEGMENTATION_STORAGE_SOP_CLASS_UID : SEGMENTATION_STORAGE_SOP_CLASS_UID;
  if (str(seg, 'SOPClassUID') !== expectedClass) throw badSeg(`not a ${type} Segmentation Storage instance`);
  if (num(seg, 'BitsAllocated') !== bitsAllocated) throw badSeg(`BitsAllocated is not ${bitsAllocated}`);
  if (num(seg, 'Rows') !== grid.rows || num(seg, 'Columns') !== grid.columns) throw badSeg('Rows/Columns differ from the grid');
  const frames = num(seg, 'NumberOfFrames') ?? 1;
  const pixelsPerFrame = grid.rows * grid.columns;
  const pixels = pixelBytes(seg.PixelData);
  if (pixels.length < Math.ceil((frames * pixelsPerFrame * bitsAllocated) / 8)) {
    throw badSeg('Pixel Data is shorter than NumberOfFrames frames');
  }
  const segmentNumbers = items(seg, 'SegmentSequence').map((s) => num(s, 'SegmentNumber') ?? 0);
  const bySource = new Map<string, number>();
  grid.slices.forEach((s, k) => bySource.set(`${s.sopInstanceUid}#${s.frameNumber ?? ''}`, k));
  const shared = items(seg, 'SharedFunctionalGroupsSequence')[0];
  const perFrameItems = items(seg, 'PerFrameFunctionalGroupsSequence');
  return {
    frames,
    pixelsPerFrame,
    pixels,
    segmentNumbers,
    sliceOf: (f) => sliceOfFrame(f, perFrameItems[f], shared, grid, bySource),
    segmentOf: (f) => {
      const n = num(group(perFrameItems[f], shared, 'SegmentIdentificationSequence') ?? {}, 'ReferencedSegmentNumber');
      if (n === undefined || !segmentNumbers.includes(n) || n > 255) throw badSeg(`frame ${f + 1} has no valid ReferencedSegmentNumber`);
      return n;
    },
  };
}

/**
 * BINARY and LABELMAP back to one segment number per voxel (0 = none). FRACTIONAL has no single label per voxel:
 * read it with decodeFractional.
 */
export function decodeSegmentation(seg: NaturalDataset, grid: SegGrid): DecodedSegmentation {
  const type = str(seg, 'SegmentationType');
  if (type === 'LABELMAP') return decodeLabelMap(seg, grid);
  if (type === 'FRACTIONAL') throw badSeg('FRACTIONAL segmentations are read with decodeFractional');
  if (type !== 'BINARY') throw badSeg(`unknown SegmentationType ${type ?? '(none)'}`);
  const { frames, pixelsPerFrame, pixels, segmentNumbers, sliceOf, segmentOf } = layout(seg, grid, type, 1);
  const labelMap = new Uint8Array(pixelsPerFrame * grid.slices.length);
  for (let f = 0; f < frames; f++) {
    const segmentNumber = segmentOf(f);
    const base = sliceOf(f) * pixelsPerFrame;
    forEachSetPixel(pixels, f, pixelsPerFrame, (p) => {
      labelMap[base + p] = segmentNumber;
    });
  }
  return { labelMap, segmentNumbers };
}

/** LABELMAP: each frame is a whole slice of segment numbers (8-bit; 16-bit values above 255 are refused). */
function decodeLabelMap(seg: NaturalDataset, grid: SegGrid): DecodedSegmentation {
  const bits = num(seg, 'BitsAllocated') === 16 ? 16 : 8;
  const { frames, pixelsPerFrame, pixels, segmentNumbers, sliceOf } = layout(seg, grid, 'LABELMAP', bits);
  const declared = new Uint8Array(256);
  for (const n of segmentNumbers) if (n >= 1 && n <= 255) declared[n] = 1;
  const labelMap = new Uint8Array(pixelsPerFrame * grid.slices.length);
  for (let f = 0; f < frames; f++) {
    const base = sliceOf(f) * pixelsPerFrame;
    for (let p = 0; p < pixelsPerFrame; p++) {
      const i = f * pixelsPerFrame + p;
      const value = bits === 8 ? pixels[i]! : pixels[2 * i]! | (pixels[2 * i + 1]! << 8);
      if (value !== 0 && (value > 255 || !declared[value])) throw badSeg(`frame ${f + 1} holds undeclared segment ${value}`);
      labelMap[base + p] = value;
    }
  }
  return { labelMap, segmentNumbers };
}

export interface DecodedFractional {
  /** Per segment number: probabilities 0..1 on the grid (value / MaximumFractionalValue); 0 where no frame. */
  probabilities: Map<number, Float32Array>;
  segmentNumbers: number[];
}

/** FRACTIONAL back to per-segment maps; segments without frames get an all-zero map. */
export function decodeFractional(seg: NaturalDataset, grid: SegGrid): DecodedFractional {
  if (str(seg, 'SegmentationType') !== 'FRACTIONAL') throw badSeg('not a FRACTIONAL segmentation');
  const maximum = num(seg, 'MaximumFractionalValue');
  if (maximum === undefined || maximum < 1) throw badSeg('MaximumFractionalValue is missing');
  const { frames, pixelsPerFrame, pixels, segmentNumbers, sliceOf, segmentOf } = layout(seg, grid, 'FRACTIONAL', 8);
  const probabilities = new Map<number, Float32Array>();
  for (const n of segmentNumbers) probabilities.set(n, new Float32Array(pixelsPerFrame * grid.slices.length));
  for (let f = 0; f < frames; f++) {
    const map = probabilities.get(segmentOf(f))!;
    const base = sliceOf(f) * pixelsPerFrame;
    for (let p = 0; p < pixelsPerFrame; p++) map[base + p] = pixels[f * pixelsPerFrame + p]! / maximum;
  }
  return { probabilities, segmentNumbers };
}
