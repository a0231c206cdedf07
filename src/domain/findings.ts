import type { Code } from './codes';

export interface SegmentFinding {
  /** SegmentNumber in the SEG (1..n). */
  segmentNumber: number;
  labelValue: number;
  label: string;
  type: Code;
  voxelCount: number;
  volumeMl: number;
}

export interface SegmentationFindings {
  kind: 'segmentation';
  segments: SegmentFinding[];
  segSeriesInstanceUid: string;
  segSopInstanceUid: string;
  /** SOP Class of the SEG (for listing it in ImagingStudy). */
  segSopClassUid: string;
  segSeriesNumber: number;
}

export interface ClassFinding {
  label: string;
  code: Code;
  probability: number;
  threshold: number;
  present: boolean;
}

export interface ClassificationFindings {
  kind: 'classification';
  classes: ClassFinding[];
}

export type Findings = SegmentationFindings | ClassificationFindings;
