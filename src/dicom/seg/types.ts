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

export interface SegOptions {
  source: SegSource;
  /** data[k * rows * columns + j * columns + i], k in source.slices order. */
  labelMap: LabelMap;
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
  /** The complete naturalized SEG dataset (Pixel Data included). */
  dataset: NaturalDataset;
  numberOfFrames: number;
  /** Segment number of each frame, in frame order. */
  frameSegments: number[];
  /** Part 10 bytes, Explicit VR Little Endian. */
  toPart10(): Uint8Array;
}
