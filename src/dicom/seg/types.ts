import type { NaturalDataset } from 'dcmjs';
import type { SegmentDefinition } from '../../domain/manifest';
import type { Orientation6 } from '../../domain/study';
import type { LabelMap, SliceSource } from '../../domain/volume';

/** The source series a segmentation is derived from. */
export interface SegSource {
  /** Naturalized header (dcmjs keywords) of one source instance: patient/study attributes are copied from it. */
  dataset: NaturalDataset;
  /** One per label-map slice k, in the label map's slice order (sorted along the normal by the caller). */
  slices: SliceSource[];
  /** ImageOrientationPatient of the source. */
  orientation: Orientation6;
  /** DICOM PixelSpacing order: [row spacing, column spacing] in mm. */
  pixelSpacing: [number, number];
  sliceThickness?: number;
  frameOfReferenceUid: string;
  /** The source series. */
  seriesInstanceUid: string;
}

export interface SegEquipment {
  manufacturer: string;
  manufacturerModelName: string;
  deviceSerialNumber: string;
  /** Should include the model version. */
  softwareVersions: string[];
}

/** One segment's probability map for FRACTIONAL: data[k * rows * columns + j * columns + i] in 0..1. */
export interface SegmentProbabilities {
  /** 1-based position of the segment in SegOptions.segments. */
  segmentNumber: number;
  data: Float32Array;
}

export interface SegOptions {
  source: SegSource;
  /**
   * BINARY (default): one 1-bit frame per (segment, slice) with voxels. LABELMAP: one 8-bit frame per source
   * slice holding segment numbers (Label Map Segmentation Storage, DICOM 2024; many receivers reject it).
   * FRACTIONAL: one 8-bit PROBABILITY frame per (segment, slice) with a non-zero value, from `probabilities`.
   */
  segmentationType?: 'BINARY' | 'LABELMAP' | 'FRACTIONAL';
  /** BINARY and LABELMAP: data[k * rows * columns + j * columns + i], k in source.slices order. */
  labelMap?: LabelMap;
  /** FRACTIONAL only: per-segment probability maps on the label-map grid (segments without one get no frames). */
  probabilities?: SegmentProbabilities[];
  /** FRACTIONAL only: the grid size of `probabilities` (the label map gives it for the other types). */
  grid?: { rows: number; columns: number };
  /** Segment number = position in this array + 1; labelValue = the value marking it in the label map. */
  segments: SegmentDefinition[];
  /** Deterministic, chosen by the caller (derived from the job's idempotency key). */
  seriesInstanceUid: string;
  sopInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  seriesDescription: string;
  /** A DICOM CS: A-Z, 0-9, space and underscore, at most 16 characters. */
  contentLabel: string;
  contentDescription?: string;
  contentCreatorName?: string;
  /** Family is always DCM 123110 "Artificial Intelligence". */
  algorithm: { name: string; version: string };
  equipment: SegEquipment;
  /** E.g. "NOT FOR CLINICAL USE": prefixed to SeriesDescription and ContentDescription (see docs/seg.md). */
  clinicalUseNotice?: string;
  contentDateTime: Date;
}

export interface Segmentation {
  /**
   * The complete naturalized SEG dataset (Pixel Data included), built on first access: it holds a second copy of the
   * pixels and one object per frame, which toPart10 never needs.
   */
  dataset: NaturalDataset;
  numberOfFrames: number;
  /** Segment number of each frame, in frame order; 0 for LABELMAP frames, which hold every segment. */
  frameSegments: number[];
  /** Part 10 bytes, Explicit VR Little Endian (written when the SEG was built; the same array every call). */
  toPart10(): Uint8Array;
}
